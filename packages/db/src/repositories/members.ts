/** Member institutions: onboarding, lookup, suspension. Functions take `db` (or a transaction) first. */
import type { Selectable } from "kysely";
import { ConflictError, NotFoundError, SQLSTATE, sqlState } from "../errors.ts";
import type { Db, MemberCapability, MemberKind, MemberStatus, MemberTable } from "../schema.ts";

export interface Member {
  id: string;
  slug: string;
  displayName: string;
  kind: MemberKind;
  capabilities: MemberCapability[];
  status: MemberStatus;
  suspendedReason: string | null;
  suspendedAt: Date | null;
  dailyLookupQuota: bigint;
  dailyEvaluationQuota: bigint;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewMember {
  slug: string;
  displayName: string;
  kind: MemberKind;
  capabilities: MemberCapability[];
  dailyLookupQuota?: bigint;
  dailyEvaluationQuota?: bigint;
}

const columns = [
  "id",
  "slug",
  "display_name",
  "kind",
  "capabilities",
  "status",
  "suspended_reason",
  "suspended_at",
  "daily_lookup_quota",
  "daily_evaluation_quota",
  "created_at",
  "updated_at",
] as const;

/** Row → Member (also used by joins that select the member's columns under these names). */
export function toMember(row: Selectable<MemberTable>): Member {
  return {
    id: row.id,
    slug: row.slug,
    displayName: row.display_name,
    kind: row.kind,
    capabilities: row.capabilities,
    status: row.status,
    suspendedReason: row.suspended_reason,
    suspendedAt: row.suspended_at,
    dailyLookupQuota: row.daily_lookup_quota,
    dailyEvaluationQuota: row.daily_evaluation_quota,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertMember(db: Db, input: NewMember): Promise<Member> {
  try {
    const row = await db
      .insertInto("member")
      .values({
        slug: input.slug,
        display_name: input.displayName,
        kind: input.kind,
        capabilities: input.capabilities,
        daily_lookup_quota: input.dailyLookupQuota,
        daily_evaluation_quota: input.dailyEvaluationQuota,
      })
      .returning(columns)
      .executeTakeFirstOrThrow();
    return toMember(row);
  } catch (error) {
    if (sqlState(error) === SQLSTATE.uniqueViolation) {
      throw new ConflictError("member", "slug", `a member with slug '${input.slug}' already exists`);
    }
    throw error;
  }
}

export async function findMemberById(db: Db, id: string): Promise<Member | undefined> {
  const row = await db.selectFrom("member").select(columns).where("id", "=", id).executeTakeFirst();
  return row && toMember(row);
}

export async function findMemberBySlug(db: Db, slug: string): Promise<Member | undefined> {
  const row = await db.selectFrom("member").select(columns).where("slug", "=", slug).executeTakeFirst();
  return row && toMember(row);
}

export async function listMembers(db: Db): Promise<Member[]> {
  const rows = await db.selectFrom("member").select(columns).orderBy("slug").execute();
  return rows.map(toMember);
}

export async function setMemberStatus(
  db: Db,
  id: string,
  change: { status: "active"; at: Date } | { status: "suspended"; reason: string; at: Date },
): Promise<Member> {
  const row = await db
    .updateTable("member")
    .set(
      change.status === "suspended"
        ? {
            status: "suspended",
            suspended_reason: change.reason,
            suspended_at: change.at,
            updated_at: change.at,
          }
        : { status: "active", suspended_reason: null, suspended_at: null, updated_at: change.at },
    )
    .where("id", "=", id)
    .returning(columns)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("member", id);
  return toMember(row);
}

export async function setMemberQuotas(
  db: Db,
  id: string,
  quotas: { dailyLookupQuota?: bigint; dailyEvaluationQuota?: bigint },
  at: Date,
): Promise<Member> {
  const row = await db
    .updateTable("member")
    .set({
      ...(quotas.dailyLookupQuota !== undefined ? { daily_lookup_quota: quotas.dailyLookupQuota } : {}),
      ...(quotas.dailyEvaluationQuota !== undefined
        ? { daily_evaluation_quota: quotas.dailyEvaluationQuota }
        : {}),
      updated_at: at,
    })
    .where("id", "=", id)
    .returning(columns)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("member", id);
  return toMember(row);
}

/**
 * The member directory's version (ADR 0038): moves at the commit of every change to `member` or `member_key`
 * (a trigger), never before. A reader that reads the version and then the directory serves a directory at
 * least as new as the version says.
 */
export async function memberDirectoryVersion(db: Db): Promise<bigint> {
  const row = await db
    .selectFrom("member_directory_version")
    .select("version")
    .where("id", "=", true)
    .executeTakeFirstOrThrow();
  return row.version;
}
