/**
 * Read models and staff management for the portal's session-authorised procedures (who may call which
 * is decided in api: PORTAL_ACCESS). Nothing here sees personal data: consents are listed by reference
 * and tag fingerprint, users by name and role.
 */
import {
  activeRoles,
  auditLogSize,
  countRecords,
  findMemberById,
  grantRole,
  latestAuditCheckpoint,
  listActiveKeys,
  listConsents,
  listMembers,
  listRetiredKeys,
  type Member,
  type MemberKey,
  NETWORK_ROLES,
  quotaUsed,
  type Role,
  revokeRole,
} from "@relink/db";
import { RelinkError, toBase64Url } from "@relink/protocol";
import type { CoreDeps } from "./context.ts";
import { utcDay } from "./denials.ts";

export interface DashboardSummary {
  member: { id: string; slug: string; displayName: string; status: string } | null;
  recordsPublished: number | null;
  consentsActive: number | null;
  consentsExpiringIn30Days: number | null;
  lookupsToday: number | null;
  evaluationsToday: number | null;
  lookupQuota: number | null;
  members: number;
  logSize: number;
  lastCheckpointAt: string | null;
}

export async function portalDashboard(deps: CoreDeps, memberId: string | null): Promise<DashboardSummary> {
  const now = deps.clock();
  const member = memberId ? await findMemberById(deps.db, memberId) : undefined;
  const members = await listMembers(deps.db);
  const logSize = await auditLogSize(deps.db);
  const checkpoint = await latestAuditCheckpoint(deps.db);
  let member_: DashboardSummary["member"] = null;
  let recordsPublished: number | null = null;
  let consentsActive: number | null = null;
  let expiring: number | null = null;
  let lookups: number | null = null;
  let evaluations: number | null = null;
  if (member) {
    member_ = { id: member.id, slug: member.slug, displayName: member.displayName, status: member.status };
    recordsPublished = await countRecords(deps.db, member.id);
    const consents = (await listConsents(deps.db, member.id)).filter(
      (c) => c.revokedAt === null && c.expiresAt > now,
    );
    consentsActive = consents.length;
    expiring = consents.filter((c) => c.expiresAt.getTime() - now.getTime() < 30 * 86_400_000).length;
    lookups = Number(await quotaUsed(deps.db, member.id, utcDay(now), "lookup"));
    evaluations = Number(await quotaUsed(deps.db, member.id, utcDay(now), "evaluation"));
  }
  return {
    member: member_,
    recordsPublished,
    consentsActive,
    consentsExpiringIn30Days: expiring,
    lookupsToday: lookups,
    evaluationsToday: evaluations,
    lookupQuota: member ? Number(member.dailyLookupQuota) : null,
    members: members.length,
    logSize: Number(logSize),
    lastCheckpointAt: checkpoint ? checkpoint.createdAt.toISOString() : null,
  };
}

export interface ConsentView {
  id: string;
  reference: string;
  /** First 8 bytes of the tag, base64url: enough to tell records apart, nothing about the person. */
  tagPrefix: string;
  purpose: string;
  legalBasis: string;
  dataCategories: string[];
  grantedAt: string;
  expiresAt: string;
  revokedAt: string | null;
  status: "active" | "expired" | "revoked";
}

export async function memberConsents(deps: CoreDeps, memberId: string): Promise<ConsentView[]> {
  const now = deps.clock();
  return (await listConsents(deps.db, memberId)).map((c) => ({
    id: c.id,
    reference: c.reference,
    tagPrefix: toBase64Url(c.tag.slice(0, 8)),
    purpose: c.purpose,
    legalBasis: c.legalBasis,
    dataCategories: c.dataCategories,
    grantedAt: c.grantedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    revokedAt: c.revokedAt?.toISOString() ?? null,
    status: c.revokedAt ? "revoked" : c.expiresAt <= now ? "expired" : "active",
  }));
}

export interface StaffView {
  userId: string;
  email: string;
  displayName: string;
  status: string;
  lastLoginAt: string | null;
  roles: Role[];
}

export async function memberStaff(deps: Pick<CoreDeps, "db">, memberId: string | null): Promise<StaffView[]> {
  let q = deps.db
    .selectFrom("user")
    .select(["id", "email", "display_name", "status", "last_login_at"])
    .orderBy("email");
  q = memberId === null ? q.where("member_id", "is", null) : q.where("member_id", "=", memberId);
  const users = await q.execute();
  const grants = users.length
    ? await deps.db
        .selectFrom("role_grant")
        .select(["user_id", "role"])
        .where(
          "user_id",
          "in",
          users.map((u) => u.id),
        )
        .where("revoked_at", "is", null)
        .execute()
    : [];
  return users.map((u) => ({
    userId: u.id,
    email: u.email,
    displayName: u.display_name,
    status: u.status,
    lastLoginAt: u.last_login_at?.toISOString() ?? null,
    roles: grants.filter((g) => g.user_id === u.id).map((g) => g.role),
  }));
}

export async function allMembers(deps: Pick<CoreDeps, "db">): Promise<Member[]> {
  return listMembers(deps.db);
}

export async function requireMember(deps: Pick<CoreDeps, "db">, memberId: string): Promise<Member> {
  const m = await findMemberById(deps.db, memberId);
  if (!m) throw new RelinkError("NOT_FOUND", "member not found");
  return m;
}

/**
 * A member administrator sets the member roles of one person on the member's own staff: grants that are
 * missing are added (granted by the administrator), active ones not listed are revoked (kept, with the time,
 * for the record). Refused: a person of another member (NOT_FOUND, so other members' staff cannot be probed),
 * network roles, and administrators removing their own `member_admin` role (a member could lose its last
 * administrator). Grants take effect on the person's next call (sessions re-read them).
 */
export async function setStaffRoles(
  deps: Pick<CoreDeps, "db" | "clock">,
  actor: { userId: string; memberId: string },
  input: { userId: string; roles: readonly Role[] },
): Promise<StaffView> {
  const wanted = new Set(input.roles);
  for (const r of wanted)
    if (NETWORK_ROLES.includes(r))
      throw new RelinkError("BAD_INPUT", `roles: ${r} is a network role, not a member's`);
  if (input.userId === actor.userId && !wanted.has("member_admin"))
    throw new RelinkError("BAD_INPUT", "roles: you cannot remove your own member_admin role");
  const at = deps.clock();
  await deps.db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom("user")
      .select(["id", "member_id"])
      .where("id", "=", input.userId)
      .executeTakeFirst();
    if (!user || user.member_id !== actor.memberId)
      throw new RelinkError("NOT_FOUND", "no such person on your member's staff");
    const current = (await activeRoles(trx, user.id)).filter((g) => g.memberId === actor.memberId);
    for (const g of current) if (!wanted.has(g.role)) await revokeRole(trx, g.id, at);
    const held = new Set(current.map((g) => g.role));
    for (const role of wanted)
      if (!held.has(role))
        await grantRole(trx, { userId: user.id, role, memberId: actor.memberId, grantedBy: actor.userId });
  });
  const staff = await memberStaff(deps, actor.memberId);
  return staff.find((u) => u.userId === input.userId)!;
}

/** A member key as the member administrator sees it; never a secret. */
export interface MemberKeyView {
  id: string;
  purpose: string;
  algorithm: string;
  /** base64url of SHA-256(algorithm || 0x00 || public key), as requests and logs name keys. */
  fingerprint: string;
  publicKey: string;
  createdAt: string;
}

function keyViewOf(k: MemberKey): MemberKeyView {
  return {
    id: k.id,
    purpose: k.purpose,
    algorithm: k.algorithm,
    fingerprint: toBase64Url(k.fingerprint),
    publicKey: toBase64Url(k.publicKey),
    createdAt: k.createdAt.toISOString(),
  };
}

export interface MemberKeysAndQuotas {
  /** The member's active public keys (request signing, mask agreement, witness, DPO). */
  keys: (MemberKeyView & { status: "active" })[];
  /**
   * The member's retired keys, most recently revoked first (at most 100), with when and why: 'rotated' by
   * the member (ADR 0068), 'lost' when the administrator re-keyed it (ADR 0037), null for older revocations.
   */
  retiredKeys: (MemberKeyView & { revokedAt: string; reason: "rotated" | "lost" | null })[];
  quotas: {
    dailyLookupQuota: number;
    dailyEvaluationQuota: number;
    lookupsToday: number;
    evaluationsToday: number;
    /** The UTC day the counters are for (quotas reset at 00:00 UTC). */
    day: string;
  };
}

/**
 * A member administrator's view of the member's keys and quotas. Read-only: keys are registered and
 * quotas set by the network administrator (admin.* / portal.setQuotas), except the request-signing key the
 * member rotates itself (member.rotateKey). Retired keys are listed with their reasons.
 */
export async function memberKeysAndQuotas(deps: CoreDeps, memberId: string): Promise<MemberKeysAndQuotas> {
  const member = await requireMember(deps, memberId);
  const day = utcDay(deps.clock());
  const keys = await listActiveKeys(deps.db, member.id);
  return {
    keys: keys.map((k) => ({ ...keyViewOf(k), status: "active" as const })),
    retiredKeys: (await listRetiredKeys(deps.db, member.id)).map((k) => ({
      ...keyViewOf(k),
      revokedAt: k.revokedAt!.toISOString(),
      reason: k.revokedReason,
    })),
    quotas: {
      dailyLookupQuota: Number(member.dailyLookupQuota),
      dailyEvaluationQuota: Number(member.dailyEvaluationQuota),
      lookupsToday: Number(await quotaUsed(deps.db, member.id, day, "lookup")),
      evaluationsToday: Number(await quotaUsed(deps.db, member.id, day, "evaluation")),
      day,
    },
  };
}
