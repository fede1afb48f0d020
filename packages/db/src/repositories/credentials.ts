/** Portal sign-in credentials (one per user). Hashing and policy live in core; this module only stores. */
import { NotFoundError } from "../errors.ts";
import type { Db } from "../schema.ts";

export interface UserCredential {
  userId: string;
  passwordHash: string;
  failedAttempts: number;
  lockedUntil: Date | null;
  totpSecret: Uint8Array | null;
  lastTotpStep: bigint | null;
}

const columns = [
  "user_id",
  "password_hash",
  "failed_attempts",
  "locked_until",
  "totp_secret",
  "last_totp_step",
] as const;

export async function setPassword(db: Db, userId: string, passwordHash: string, at: Date): Promise<void> {
  await db
    .insertInto("user_credential")
    .values({ user_id: userId, password_hash: passwordHash, updated_at: at })
    .onConflict((oc) =>
      oc
        .column("user_id")
        .doUpdateSet({ password_hash: passwordHash, failed_attempts: 0, locked_until: null, updated_at: at }),
    )
    .execute();
}

export async function findCredential(db: Db, userId: string): Promise<UserCredential | undefined> {
  const row = await db
    .selectFrom("user_credential")
    .select(columns)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return (
    row && {
      userId: row.user_id,
      passwordHash: row.password_hash,
      failedAttempts: row.failed_attempts,
      lockedUntil: row.locked_until,
      totpSecret: row.totp_secret,
      lastTotpStep: row.last_totp_step,
    }
  );
}

/** Counts a failed attempt; locks the account until `lockUntil` once `maxAttempts` is reached. */
export async function recordFailedSignIn(
  db: Db,
  userId: string,
  at: Date,
  policy: { maxAttempts: number; lockUntil: Date },
): Promise<{ failedAttempts: number; lockedUntil: Date | null }> {
  const row = await db
    .updateTable("user_credential")
    .set((eb) => ({ failed_attempts: eb("failed_attempts", "+", 1), updated_at: at }))
    .where("user_id", "=", userId)
    .returning(["failed_attempts"])
    .executeTakeFirst();
  if (!row) throw new NotFoundError("user_credential", userId);
  if (row.failed_attempts >= policy.maxAttempts) {
    await db
      .updateTable("user_credential")
      .set({ locked_until: policy.lockUntil, failed_attempts: 0 })
      .where("user_id", "=", userId)
      .execute();
    return { failedAttempts: row.failed_attempts, lockedUntil: policy.lockUntil };
  }
  return { failedAttempts: row.failed_attempts, lockedUntil: null };
}

export async function recordSuccessfulSignIn(
  db: Db,
  userId: string,
  at: Date,
  totpStep: bigint | null,
): Promise<void> {
  await db
    .updateTable("user_credential")
    .set({
      failed_attempts: 0,
      locked_until: null,
      updated_at: at,
      ...(totpStep !== null ? { last_totp_step: totpStep } : {}),
    })
    .where("user_id", "=", userId)
    .execute();
  await db.updateTable("user").set({ last_login_at: at }).where("id", "=", userId).execute();
}

export async function setTotpSecret(
  db: Db,
  userId: string,
  secret: Uint8Array | null,
  at: Date,
): Promise<void> {
  const r = await db
    .updateTable("user_credential")
    .set({ totp_secret: secret, last_totp_step: null, updated_at: at })
    .where("user_id", "=", userId)
    .executeTakeFirst();
  if (r.numUpdatedRows === 0n) throw new NotFoundError("user_credential", userId);
}
