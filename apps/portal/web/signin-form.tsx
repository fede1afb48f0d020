"use client";
import { useRouter } from "next/navigation";
import { signIn } from "next-auth/react";
import { useState } from "react";
import type { MessageKey } from "./i18n.ts";
import { useI18n } from "./i18n-client.tsx";
import { LanguageSwitch } from "./language-switch.tsx";

const REASONS = ["invalid", "locked", "totp_required", "totp_invalid", "disabled"] as const;

export function SignInForm() {
  const { t } = useI18n();
  const router = useRouter();
  const [error, setError] = useState<MessageKey | null>(null);
  const [busy, setBusy] = useState(false);
  const [needTotp, setNeedTotp] = useState(false);
  return (
    <main className="signin">
      <div className="signin-card">
        <div className="signin-top">
          <div className="brand">
            <span className="logo" aria-hidden>
              R
            </span>
            <span>{t("app.name")}</span>
          </div>
          <LanguageSwitch />
        </div>
        <h1>{t("signin.title")}</h1>
        <p className="muted">{t("app.tagline")}</p>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            setBusy(true);
            setError(null);
            const r = await signIn("credentials", {
              redirect: false,
              email: String(f.get("email") ?? ""),
              password: String(f.get("password") ?? ""),
              totp: String(f.get("totp") ?? ""),
            });
            setBusy(false);
            if (r?.ok && !r.error) {
              router.replace("/");
              router.refresh();
              return;
            }
            const reason = REASONS.find((x) => x === r?.error);
            if (reason === "totp_required") setNeedTotp(true);
            setError(reason ? `signin.error.${reason}` : "signin.error.unknown");
          }}
        >
          <label>
            {t("signin.email")}
            <input name="email" type="email" autoComplete="username" required data-testid="email" />
          </label>
          <label>
            {t("signin.password")}
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              required
              data-testid="password"
            />
          </label>
          <label className={needTotp ? "" : "optional"}>
            {t("signin.totp")}
            <input
              name="totp"
              inputMode="numeric"
              pattern="[0-9]{6}"
              autoComplete="one-time-code"
              data-testid="totp"
            />
          </label>
          {error ? (
            <p className="error" role="alert" data-testid="signin-error">
              {t(error)}
            </p>
          ) : null}
          <button type="submit" className="primary" disabled={busy} data-testid="signin-submit">
            {t("signin.submit")}
          </button>
        </form>
        <p className="privacy">{t("signin.privacy")}</p>
      </div>
    </main>
  );
}
