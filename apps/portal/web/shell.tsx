"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { signOut } from "next-auth/react";
import type { ReactNode } from "react";
import type { PortalUser } from "./auth.ts";
import type { MessageKey } from "./i18n.ts";
import { useI18n } from "./i18n-client.tsx";
import { LanguageSwitch } from "./language-switch.tsx";

const MEMBER = ["collections_operator", "data_engineer", "risk_analyst", "member_dpo", "member_admin"];

/** Navigation by role (the API enforces the same rules: api/src/access.ts). */
export const NAV: { href: string; label: MessageKey; roles: readonly string[] | "all" }[] = [
  { href: "/", label: "nav.dashboard", roles: "all" },
  // Network staff import the network-owned member's key here: it computes the tags of honeytokens and opt-outs.
  { href: "/keys", label: "nav.keys", roles: [...MEMBER, "network_admin", "network_dpo"] },
  { href: "/publish", label: "nav.publish", roles: ["data_engineer", "member_admin"] },
  { href: "/match", label: "nav.match", roles: ["collections_operator"] },
  {
    href: "/consents",
    label: "nav.consents",
    roles: ["collections_operator", "risk_analyst", "member_dpo", "member_admin"],
  },
  { href: "/exposure", label: "nav.exposure", roles: ["risk_analyst"] },
  { href: "/audit", label: "nav.audit", roles: "all" },
  { href: "/dpo", label: "nav.dpo", roles: ["member_dpo", "network_dpo"] },
  { href: "/member", label: "nav.member", roles: ["member_admin"] },
  { href: "/network", label: "nav.network", roles: ["network_admin", "network_dpo"] },
  { href: "/abuse", label: "nav.abuse", roles: ["network_admin"] },
  { href: "/opt-outs", label: "nav.optOuts", roles: ["network_dpo"] },
];

export function Shell({ user, children }: { user: PortalUser; children: ReactNode }) {
  const { t } = useI18n();
  const path = usePathname();
  const items = NAV.filter((n) => n.roles === "all" || n.roles.some((r) => user.roles.includes(r)));
  return (
    <div className="shell">
      <aside className="sidebar">
        <div className="brand">
          <span className="logo" aria-hidden>
            R
          </span>
          <span>{t("app.name")}</span>
        </div>
        <nav>
          {items.map((n) => (
            <Link
              key={n.href}
              href={n.href}
              className={path === n.href ? "active" : ""}
              data-testid={`nav-${n.href.slice(1) || "dashboard"}`}
            >
              {t(n.label)}
            </Link>
          ))}
        </nav>
        <div className="sidebar-foot">{t("common.timezone")}</div>
      </aside>
      <div className="main">
        <header className="topbar">
          <div className="who">
            <span>{t("nav.signedInAs", { name: user.name ?? user.email ?? "" })}</span>
            <span className="roles">
              {user.roles.map((r) => (
                <span key={r} className="badge muted">
                  {t(`role.${r}` as MessageKey)}
                </span>
              ))}
            </span>
          </div>
          <div className="topbar-actions">
            <LanguageSwitch />
            <button
              type="button"
              className="ghost"
              data-testid="sign-out"
              onClick={() => void signOut({ callbackUrl: "/signin" })}
            >
              {t("nav.signOut")}
            </button>
          </div>
        </header>
        <main className="content">{children}</main>
      </div>
    </div>
  );
}
