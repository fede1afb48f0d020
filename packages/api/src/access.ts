/**
 * Who may call what through the portal (a signed-in person, not a member node). Every procedure the portal
 * can reach is listed here with the roles allowed; anything absent is refused for portal sessions. Member
 * roles act only for their own member: a member-signed call through the portal also needs the person's
 * grant for the member whose key signed it. Node calls (no session) are unaffected: the member's key is
 * the authority there. The matrix is tested role × procedure in test/access.test.ts.
 */

export const MEMBER_ROLES = [
  "collections_operator",
  "data_engineer",
  "risk_analyst",
  "member_dpo",
  "member_admin",
] as const;
export const NETWORK_ROLES = ["network_admin", "network_dpo"] as const;
export const ROLES = [...MEMBER_ROLES, ...NETWORK_ROLES] as const;
export type PortalRole = (typeof ROLES)[number];

export interface PortalGrant {
  role: PortalRole;
  /** Null for network roles. */
  memberId: string | null;
}

/** A signed-in portal user, re-read from the database on every call (revocation takes effect at once). */
export interface PortalSession {
  userId: string;
  /** The member the person works for; null for network staff. */
  memberId: string | null;
  /** Hex of the audit pseudonym. */
  pseudonym: string;
  grants: PortalGrant[];
}

const ALL: readonly PortalRole[] = ROLES;

export const PORTAL_ACCESS: Readonly<Record<string, readonly PortalRole[]>> = {
  // network facts every signed-in person may read (the member directory is not one: ADR 0040 keeps it to
  // key holders, admins and network DPOs by signed request; network staff see members via portal.members)
  "network.info": ALL,
  // the signing key's own member: member roles for their member; network roles with any member key their
  // browser holds (NETWORK_WITH_ANY_MEMBER_KEY) — the network-owned member's, to compute tags (ADR 0036)
  "network.whoami": ALL,
  // member-signed work (the member's key lives in the person's browser)
  "directory.publish": ["data_engineer", "member_admin"],
  "directory.erase": ["data_engineer", "member_dpo"],
  "consent.register": ["collections_operator", "risk_analyst", "member_dpo"],
  "consent.revoke": ["collections_operator", "member_dpo"],
  "lookup.run": ["collections_operator"],
  "exposure.query": ["risk_analyst"],
  "exposure.registerMaskKey": ["data_engineer"],
  "exposure.registerSubjects": ["data_engineer"],
  "exposure.unregisterSubjects": ["data_engineer"],
  // replacing the member's request-signing key (ADR 0068): the new key is made in the member admin's browser
  "member.rotateKey": ["member_admin"],
  // session procedures (portal router)
  "portal.me": ALL,
  "portal.dashboard": ALL,
  "portal.consents": ["collections_operator", "risk_analyst", "member_dpo", "member_admin"],
  "portal.staff": ["member_admin", "network_admin"],
  "portal.setStaffRoles": ["member_admin"],
  // the member's keys and quotas, read-only (keys and quotas are set by the network admin)
  "portal.memberKeys": ["member_admin"],
  "portal.members": NETWORK_ROLES,
  "portal.keyHolders": ["network_admin"],
  "portal.onboardMember": ["network_admin"],
  "portal.suspendMember": ["network_admin"],
  "portal.reinstateMember": ["network_admin"],
  "portal.setQuotas": ["network_admin"],
  // abuse controls (ADRs 0045, 0036): alerts, sanctions and honeytokens for the network admin, the opt-out
  // registry for the network DPO; tags are computed in the browser's worker through the key holders
  "portal.alerts": ["network_admin"],
  "portal.plantHoneytokens": ["network_admin"],
  "portal.registerOptOuts": ["network_dpo"],
  "portal.optOuts": ["network_dpo"],
  // DPO work (ADRs 0040–0042): signed in the browser with the DPO's own key; a member DPO's key acts for
  // its member only (checked in dpoProcedure against the grant), a network DPO key needs the network role.
  "dpo.subjectReport": ["member_dpo", "network_dpo"],
  "dpo.consentReplay": ["member_dpo", "network_dpo"],
  "dpo.exportSlice": ["member_dpo", "network_dpo"],
  // Only a member's DPO receives its member's commitment key (core refuses the network DPO).
  "dpo.commitmentKey": ["member_dpo"],
  // s4-keys (ADR 0037): a member DPO replaces its own key, signed with it (a network DPO key lives in config)
  "dpo.rotateKey": ["member_dpo"],
};

/**
 * Member-signed procedures a network grant may call with any member's key: what the key alone may do
 * outside the portal, and no more. `network.whoami` (the key's own member) starts every tag computation of
 * the SDK; the network admin and DPO compute tags with the network-owned member's key (ADR 0036).
 */
export const NETWORK_WITH_ANY_MEMBER_KEY: ReadonlySet<string> = new Set(["network.whoami"]);

/**
 * Whether the session holds one of the procedure's roles (for `memberId` when given; `null` asks for a
 * network grant).
 */
export function allowed(session: PortalSession, path: string, memberId?: string | null): boolean {
  const roles = PORTAL_ACCESS[path];
  if (!roles) return false;
  const anyMember = NETWORK_WITH_ANY_MEMBER_KEY.has(path);
  return session.grants.some(
    (g) =>
      roles.includes(g.role) &&
      (memberId === undefined || g.memberId === memberId || (anyMember && g.memberId === null)),
  );
}
