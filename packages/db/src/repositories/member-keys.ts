/** Members' public keys: Ed25519 request-signing and witness keys, X25519 mask-agreement keys. */
import type { Selectable } from "kysely";
import { ConflictError, NotFoundError, SQLSTATE, sqlState } from "../errors.ts";
import type { Db, KeyAlgorithm, MemberKeyPurpose, MemberKeyTable } from "../schema.ts";

export interface MemberKey {
  id: string;
  memberId: string;
  purpose: MemberKeyPurpose;
  algorithm: KeyAlgorithm;
  publicKey: Uint8Array;
  fingerprint: Uint8Array;
  createdAt: Date;
  revokedAt: Date | null;
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

export async function revokeMemberKey(db: Db, id: string, at: Date): Promise<MemberKey> {
  const row = await db
    .updateTable("member_key")
    .set({ revoked_at: at })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .returning(columns)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("active member_key", id);
  return toKey(row);
}
