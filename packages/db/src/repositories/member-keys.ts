/** Members' public keys: Ed25519 request-signing and witness keys, X25519 mask-agreement keys. */
import type { Selectable } from "kysely";
import { ConflictError, NotFoundError, SQLSTATE, sqlState } from "../errors.ts";
import type {
  Db,
  KeyAlgorithm,
  MemberKeyPurpose,
  MemberKeyRevokedReason,
  MemberKeyTable,
} from "../schema.ts";
import { type Member, toMember } from "./members.ts";

export interface MemberKey {
  id: string;
  memberId: string;
  purpose: MemberKeyPurpose;
  algorithm: KeyAlgorithm;
  publicKey: Uint8Array;
  fingerprint: Uint8Array;
  createdAt: Date;
  revokedAt: Date | null;
  revokedReason: MemberKeyRevokedReason | null;
}

const columns = [
  "id",
  "member_id",
  "purpose",
  "algorithm",
  "public_key",
  "fingerprint",
  "created_at",
  "revoked_at",
  "revoked_reason",
] as const;

function toKey(row: Selectable<MemberKeyTable>): MemberKey {
  return {
    id: row.id,
    memberId: row.member_id,
    purpose: row.purpose,
    algorithm: row.algorithm,
    publicKey: row.public_key,
    fingerprint: row.fingerprint,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
  };
}

export async function insertMemberKey(
  db: Db,
  input: {
    memberId: string;
    purpose: MemberKeyPurpose;
    algorithm: KeyAlgorithm;
    publicKey: Uint8Array;
    /** protocol's keyFingerprint(algorithm, publicKey): how requests name the key. */
    fingerprint: Uint8Array;
  },
): Promise<MemberKey> {
  try {
    const row = await db
      .insertInto("member_key")
      .values({
        member_id: input.memberId,
        purpose: input.purpose,
        algorithm: input.algorithm,
        public_key: input.publicKey,
        fingerprint: input.fingerprint,
      })
      .returning(columns)
      .executeTakeFirstOrThrow();
    return toKey(row);
  } catch (error) {
    const state = sqlState(error);
    if (state === SQLSTATE.uniqueViolation) {
      throw new ConflictError("member_key", "public_key", "this public key is already registered");
    }
    if (state === SQLSTATE.foreignKeyViolation) throw new NotFoundError("member", input.memberId);
    throw error;
  }
}

export async function findActiveKeyByFingerprint(
  db: Db,
  fingerprint: Uint8Array,
): Promise<MemberKey | undefined> {
  const row = await db
    .selectFrom("member_key")
    .select(columns)
    .where("fingerprint", "=", fingerprint)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return row && toKey(row);
}

/**
 * The active key with this fingerprint and its member, in one statement: request authentication needs both
 * on every signed call (one round trip instead of two).
 */
export async function findActiveKeyWithMember(
  db: Db,
  fingerprint: Uint8Array,
): Promise<{ key: MemberKey; member: Member } | undefined> {
  const row = await db
    .selectFrom("member_key as k")
    .innerJoin("member as m", "m.id", "k.member_id")
    .select([
      "k.id as key_id",
      "k.member_id",
      "k.purpose",
      "k.algorithm",
      "k.public_key",
      "k.fingerprint",
      "k.created_at as key_created_at",
      "k.revoked_at",
      "k.revoked_reason",
      "m.id",
      "m.slug",
      "m.display_name",
      "m.kind",
      "m.capabilities",
      "m.status",
      "m.suspended_reason",
      "m.suspended_at",
      "m.daily_lookup_quota",
      "m.daily_evaluation_quota",
      "m.created_at",
      "m.updated_at",
    ])
    .where("k.fingerprint", "=", fingerprint)
    .where("k.revoked_at", "is", null)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    key: toKey({ ...row, id: row.key_id, created_at: row.key_created_at }),
    member: toMember(row),
  };
}

/** The key with this fingerprint, active or revoked (fingerprints are unique across all members). */
export async function findKeyByFingerprint(db: Db, fingerprint: Uint8Array): Promise<MemberKey | undefined> {
  const row = await db
    .selectFrom("member_key")
    .select(columns)
    .where("fingerprint", "=", fingerprint)
    .executeTakeFirst();
  return row && toKey(row);
}

export async function listActiveKeys(
  db: Db,
  memberId: string,
  purpose?: MemberKeyPurpose,
): Promise<MemberKey[]> {
  let query = db
    .selectFrom("member_key")
    .select(columns)
    .where("member_id", "=", memberId)
    .where("revoked_at", "is", null);
  if (purpose) query = query.where("purpose", "=", purpose);
  const rows = await query.orderBy("created_at").execute();
  return rows.map(toKey);
}

/** Revokes an active key (NotFoundError when it is not active: already revoked, or no such key). */
export async function revokeMemberKey(
  db: Db,
  id: string,
  at: Date,
  reason: MemberKeyRevokedReason | null = null,
): Promise<MemberKey> {
  const row = await db
    .updateTable("member_key")
    .set({ revoked_at: at, revoked_reason: reason })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .returning(columns)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("active member_key", id);
  return toKey(row);
}

/**
 * Revokes every active key of `purpose` of a member with one reason (ADR 0037's re-key); returns them, oldest
 * first. Take `lockMemberForKeyChange` first in the same transaction, so keys a concurrent change committed
 * meanwhile are seen by this statement.
 */
export async function revokeActiveKeys(
  db: Db,
  memberId: string,
  purpose: MemberKeyPurpose,
  at: Date,
  reason: MemberKeyRevokedReason,
): Promise<MemberKey[]> {
  const rows = await db
    .updateTable("member_key")
    .set({ revoked_at: at, revoked_reason: reason })
    .where("member_id", "=", memberId)
    .where("purpose", "=", purpose)
    .where("revoked_at", "is", null)
    .returning(columns)
    .execute();
  return rows.map(toKey).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/**
 * Locks the member's row until the transaction ends: key changes of one member (the member's rotation, the
 * administrator's re-key) run one after the other, each seeing what the previous one committed.
 * NotFoundError when there is no such member.
 */
export async function lockMemberForKeyChange(db: Db, memberId: string): Promise<void> {
  const row = await db
    .selectFrom("member")
    .select("id")
    .where("id", "=", memberId)
    .forNoKeyUpdate() // not FOR UPDATE: rows referencing the member (keys, consents) may still be inserted
    .executeTakeFirst();
  if (!row) throw new NotFoundError("member", memberId);
}

/** A member's revoked keys, most recently revoked first, at most `limit` (the member admin's view). */
export async function listRetiredKeys(db: Db, memberId: string, limit = 100): Promise<MemberKey[]> {
  const rows = await db
    .selectFrom("member_key")
    .select(columns)
    .where("member_id", "=", memberId)
    .where("revoked_at", "is not", null)
    .orderBy("revoked_at", "desc")
    .orderBy("created_at", "desc")
    .limit(limit)
    .execute();
  return rows.map(toKey);
}
