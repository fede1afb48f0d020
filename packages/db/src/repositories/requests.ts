/** Replay protection for signed requests and daily quota counters. */
import { sql } from "kysely";
import type { Db, QuotaCounter } from "../schema.ts";

/**
 * Records a nonce; false when it was already seen (a replay). Atomic on both backends through the
 * primary key: concurrent duplicates cannot both succeed.
 */
export async function rememberNonce(
  db: Db,
  keyFingerprint: Uint8Array,
  nonce: Uint8Array,
  at: Date,
): Promise<boolean> {
  const r = await db
    .insertInto("request_nonce")
    .values({ key_fingerprint: keyFingerprint, nonce, seen_at: at })
    .onConflict((oc) => oc.columns(["key_fingerprint", "nonce"]).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Nonces older than the accepted clock skew can never be replayed successfully: forget them. */
export async function forgetNoncesBefore(db: Db, before: Date): Promise<number> {
  const r = await db.deleteFrom("request_nonce").where("seen_at", "<", before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * Adds `amount` to the member's counter for the day if the result stays within `limit`. Atomic: one
 * statement that refuses to exceed the limit, so parallel requests cannot overshoot it together.
 * Returns the new total, or undefined when the request would exceed the limit (nothing is added).
 */
export async function consumeQuota(
  db: Db,
  input: { memberId: string; day: string; counter: QuotaCounter; amount: bigint; limit: bigint },
): Promise<bigint | undefined> {
  if (input.amount > input.limit) return undefined;
  const { rows } = await sql<{ used: bigint }>`
    insert into quota_usage (member_id, day, counter, used)
    values (${input.memberId}, ${input.day}, ${input.counter}, ${input.amount})
    on conflict (member_id, day, counter) do update set used = quota_usage.used + excluded.used
      where quota_usage.used + excluded.used <= ${input.limit}
    returning used`.execute(db);
  return rows[0]?.used;
}

export async function quotaUsed(
  db: Db,
  memberId: string,
  day: string,
  counter: QuotaCounter,
): Promise<bigint> {
  const row = await db
    .selectFrom("quota_usage")
    .select("used")
    .where("member_id", "=", memberId)
    .where("day", "=", day)
    .where("counter", "=", counter)
    .executeTakeFirst();
  return row?.used ?? 0n;
}
