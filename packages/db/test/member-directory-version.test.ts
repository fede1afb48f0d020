/** The member directory's version (ADR 0038): moved at commit by every member or member_key change, never before. */
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { expect, it } from "vitest";
import { insertMemberKey, revokeMemberKey } from "../src/repositories/member-keys.ts";
import {
  insertMember,
  memberDirectoryVersion,
  setMemberQuotas,
  setMemberStatus,
} from "../src/repositories/members.ts";
import { describeEachBackend } from "../src/testing.ts";

const at = new Date("2026-12-03T09:30:00Z");
const key = (memberId: string) => {
  const publicKey = randomBytes(32);
  return {
    memberId,
    purpose: "request_signing" as const,
    algorithm: "ed25519" as const,
    publicKey,
    fingerprint: randomBytes(32),
  };
};

describeEachBackend("member directory version", ({ db }) => {
  it("moves on every change to a member or its keys, once per changed row", async () => {
    const v0 = await memberDirectoryVersion(db());
    const m = await insertMember(db(), {
      slug: "dir-bank",
      displayName: "Dir Bank",
      kind: "bank",
      capabilities: [],
    });
    const v1 = await memberDirectoryVersion(db());
    expect(v1).toBe(v0 + 1n);
    const k = await insertMemberKey(db(), key(m.id));
    expect(await memberDirectoryVersion(db())).toBe(v1 + 1n);
    await revokeMemberKey(db(), k.id, at, "rotated");
    expect(await memberDirectoryVersion(db())).toBe(v1 + 2n);
    await setMemberStatus(db(), m.id, { status: "suspended", reason: "test", at });
    expect(await memberDirectoryVersion(db())).toBe(v1 + 3n);
    await setMemberQuotas(db(), m.id, { dailyEvaluationQuota: 7n }, at);
    expect(await memberDirectoryVersion(db())).toBe(v1 + 4n);
  });

  it("moves only at commit: not inside the transaction, not at all on rollback", async () => {
    const before = await memberDirectoryVersion(db());
    const inside = await db()
      .transaction()
      .execute(async (trx) => {
        const m = await insertMember(trx, {
          slug: "dir-lender",
          displayName: "Dir Lender",
          kind: "bank",
          capabilities: [],
        });
        await insertMemberKey(trx, key(m.id));
        return memberDirectoryVersion(trx);
      });
    expect(inside).toBe(before);
    expect(await memberDirectoryVersion(db())).toBe(before + 2n);

    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          await insertMember(trx, { slug: "dir-gone", displayName: "Gone", kind: "bank", capabilities: [] });
          throw new Error("roll back");
        }),
    ).rejects.toThrow("roll back");
    expect(await memberDirectoryVersion(db())).toBe(before + 2n);
  });

  it("other tables leave it alone, and it cannot be set back by hand", async () => {
    const before = await memberDirectoryVersion(db());
    await sql`select 1`.execute(db());
    expect(await memberDirectoryVersion(db())).toBe(before);
    await expect(sql`update member_directory_version set version = -1`.execute(db())).rejects.toThrow();
    await expect(
      sql`insert into member_directory_version (id, version) values (false, 0)`.execute(db()),
    ).rejects.toThrow();
  });
});
