/**
 * Demo accounts of the web portal, one per role, created by the network administrator's signed
 * `admin.createPortalUser` calls. One random password per run (printed by `npm start`).
 */
import { readFileSync } from "node:fs";
import { fromHex } from "@relink/protocol";
import { createHubClient, ed25519Signer } from "@relink/sdk";
import type { RunningNetwork } from "./network.ts";

type PortalRole =
  | "collections_operator"
  | "data_engineer"
  | "risk_analyst"
  | "member_dpo"
  | "member_admin"
  | "network_admin"
  | "network_dpo";

export interface DemoAccount {
  email: string;
  displayName: string;
  /** The role the account demonstrates (one account per role; `npm start` lists them by it). */
  role: PortalRole;
  /** Further grants of the same person, for `memberSlug` (the network operator publishes as a member). */
  alsoRoles?: readonly PortalRole[];
  memberSlug: string | null;
}

/**
 * One account per role; with `network` (the network-owned member's slug, ADR 0045) also the network
 * operator: a network admin who may publish as that member, so `/abuse` can plant honeytokens.
 */
export function demoAccounts(slugs: { collector: string; bank: string; network?: string }): DemoAccount[] {
  const c = slugs.collector;
  const b = slugs.bank;
  const operator: DemoAccount[] = slugs.network
    ? [
        {
          email: "netops@relink.demo",
          displayName: "网络运营 周宁",
          role: "network_admin",
          alsoRoles: ["data_engineer"],
          memberSlug: slugs.network,
        },
      ]
    : [];
  return [
    {
      email: `operator@${c}.demo`,
      displayName: "催收专员 王芳",
      role: "collections_operator",
      memberSlug: c,
    },
    { email: `dpo@${c}.demo`, displayName: "数据保护官 李明", role: "member_dpo", memberSlug: c },
    { email: `admin@${c}.demo`, displayName: "机构管理员 陈静", role: "member_admin", memberSlug: c },
    { email: `data@${b}.demo`, displayName: "数据工程师 张伟", role: "data_engineer", memberSlug: b },
    { email: `risk@${b}.demo`, displayName: "风险分析师 刘洋", role: "risk_analyst", memberSlug: b },
    {
      email: "netadmin@relink.demo",
      displayName: "网络管理员 赵磊",
      role: "network_admin",
      memberSlug: null,
    },
    {
      email: "netdpo@relink.demo",
      displayName: "网络数据保护官 孙丽",
      role: "network_dpo",
      memberSlug: null,
    },
    ...operator,
  ];
}

export function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `Relink-${Buffer.from(bytes).toString("base64url")}`;
}

export async function seedPortalAccounts(
  net: RunningNetwork,
  accounts: readonly DemoAccount[],
  password: string,
): Promise<void> {
  const admin = ed25519Signer(fromHex(readFileSync(net.adminKeyFile, "utf8").trim()));
  const hub = createHubClient({ url: net.hubUrl, signer: admin });
  for (const a of accounts) {
    await hub.admin.createPortalUser.mutate({
      email: a.email,
      displayName: a.displayName,
      memberSlug: a.memberSlug,
      password,
      roles: [a.role, ...(a.alsoRoles ?? [])],
    });
  }
}
