/**
 * Consent-membership proofs (ADR 0050): members' committed consent roots and the proof bundles lookups
 * carried. A root is immutable once logged; a member may commit many (e.g. one per consent import).
 */
import type { Db } from "../schema.ts";

export interface ConsentRoot {
  memberId: string;
  root: Uint8Array;
  leafCount: number;
  vkeyHash: Uint8Array;
  logIndex: bigint;
  committedAt: Date;
}

/** Records a committed root; false if the member already committed this root (nothing changes then). */
export async function insertConsentRoot(db: Db, r: ConsentRoot): Promise<boolean> {
  const rows = await db
    .insertInto("consent_root")
    .values({
      member_id: r.memberId,
      root: r.root,
      leaf_count: r.leafCount,
      vkey_hash: r.vkeyHash,
      log_index: r.logIndex,
      committed_at: r.committedAt,
    })
    .onConflict((oc) => oc.columns(["member_id", "root"]).doNothing())
    .returning("root")
    .execute();
  return rows.length === 1;
}

/** The member's committed roots among `roots` (hex → row). */
export async function findConsentRoots(
  db: Db,
  memberId: string,
  roots: Uint8Array[],
): Promise<Map<string, ConsentRoot>> {
  const out = new Map<string, ConsentRoot>();
  if (roots.length === 0) return out;
  const rows = await db
    .selectFrom("consent_root")
    .select(["member_id", "root", "leaf_count", "vkey_hash", "log_index", "committed_at"])
    .where("member_id", "=", memberId)
    .where("root", "in", roots)
    .execute();
  for (const r of rows) {
    out.set(Buffer.from(r.root).toString("hex"), {
      memberId: r.member_id,
      root: r.root,
      leafCount: r.leaf_count,
      vkeyHash: r.vkey_hash,
      logIndex: BigInt(r.log_index),
      committedAt: r.committed_at,
    });
  }
  return out;
}

/** Whether the member has committed any consent root (from then on its lookups must carry proofs). */
export async function hasConsentRoot(db: Db, memberId: string): Promise<boolean> {
  const row = await db
    .selectFrom("consent_root")
    .select("root")
    .where("member_id", "=", memberId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertConsentProofBundle(
  db: Db,
  b: { logIndex: bigint; memberId: string; bundle: string; at: Date },
): Promise<void> {
  await db
    .insertInto("consent_proof_bundle")
    .values({ log_index: b.logIndex, member_id: b.memberId, bundle: b.bundle, created_at: b.at })
    .execute();
}

/** The proof bundle stored with the lookup at this audit-leaf index, if it carried one. */
export async function getConsentProofBundle(
  db: Db,
  logIndex: bigint,
): Promise<{ memberId: string; bundle: string } | undefined> {
  const row = await db
    .selectFrom("consent_proof_bundle")
    .select(["member_id", "bundle"])
    .where("log_index", "=", logIndex)
    .executeTakeFirst();
  return row && { memberId: row.member_id, bundle: row.bundle };
}
