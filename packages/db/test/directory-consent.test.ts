import { randomBytes, randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { ConflictError } from "../src/errors.ts";
import {
  coveringConsents,
  insertConsents,
  listConsents,
  revokeConsents,
} from "../src/repositories/consents.ts";
import {
  countRecords,
  type DirectoryRow,
  deleteRecords,
  findBatch,
  findRecordsForTags,
  insertBatch,
  purgeRecordsLastSeenBefore,
  upsertRecords,
} from "../src/repositories/directory.ts";
import { insertMember } from "../src/repositories/members.ts";
import { consumeQuota, forgetNoncesBefore, quotaUsed, rememberNonce } from "../src/repositories/requests.ts";
import { describeEachBackend } from "../src/testing.ts";

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const at = new Date("2026-11-26T09:00:00Z");

describeEachBackend("directory, consents, nonces and quotas", ({ db }) => {
  const ids: Record<string, string> = {};
  const subject = rnd(32);
  const other = rnd(32);
  const sameValue = rnd(32);

  const row = (publisher: string, over: Partial<DirectoryRow> = {}): DirectoryRow => ({
    publisherId: ids[publisher]!,
    tag: subject,
    recordId: rnd(16),
    epoch: 1,
    kind: "phone",
    labelVersion: 1,
    valueDigest: rnd(32),
    lastSeenOn: "2026-10-01",
    sealed: rnd(64),
    ...over,
  });

  async function publish(member: string, rows: DirectoryRow[]) {
    const batch = randomUUID();
    await insertBatch(
      db(),
      {
        id: batch,
        memberId: ids[member]!,
        epoch: 1,
        upserted: rows.length,
        deleted: 0,
        requestHash: rnd(32),
      },
      at,
    );
    return upsertRecords(db(), batch, rows, at);
  }

  it("sets up members", async () => {
    for (const slug of ["bank-a", "bank-b", "agency-c"]) {
      ids[slug] = (await insertMember(db(), { slug, displayName: slug, kind: "bank", capabilities: [] })).id;
    }
  });

  it("upserts by (publisher, tag, record id), finds others' records with corroboration, newest first", async () => {
    const keepId = rnd(16);
    await publish("bank-a", [
      row("bank-a", { recordId: keepId, valueDigest: sameValue, lastSeenOn: "2026-09-01" }),
      row("bank-a", { kind: "email", lastSeenOn: "2026-11-01" }),
      row("bank-a", { tag: other }),
    ]);
    await publish("bank-b", [row("bank-b", { valueDigest: sameValue, lastSeenOn: "2026-10-15" })]);
    // Re-publishing the same record id replaces it rather than adding a row.
    await publish("bank-a", [
      row("bank-a", { recordId: keepId, valueDigest: sameValue, lastSeenOn: "2026-09-02", labelVersion: 2 }),
    ]);
    expect(await countRecords(db(), ids["bank-a"])).toBe(3);

    const found = await findRecordsForTags(db(), {
      tags: [subject],
      epoch: 1,
      excludePublisher: ids["agency-c"]!,
    });
    expect(found.map((f) => [f.kind, f.lastSeenOn, f.corroboration])).toEqual([
      ["email", "2026-11-01", 1],
      ["phone", "2026-10-15", 2],
      ["phone", "2026-09-02", 2],
    ]);
    expect(found.find((f) => f.lastSeenOn === "2026-09-02")?.labelVersion).toBe(2);
    // A querier never gets its own records back.
    const forB = await findRecordsForTags(db(), {
      tags: [subject],
      epoch: 1,
      excludePublisher: ids["bank-b"]!,
    });
    expect(forB.every((f) => f.publisherId === ids["bank-a"])).toBe(true);
    // Other epochs are invisible.
    expect(
      await findRecordsForTags(db(), { tags: [subject], epoch: 2, excludePublisher: ids["agency-c"]! }),
    ).toEqual([]);
  });

  it("keeps batches findable for idempotency and refuses a reused batch id", async () => {
    const id = randomUUID();
    const b = { id, memberId: ids["bank-a"]!, epoch: 1, upserted: 0, deleted: 0, requestHash: rnd(32) };
    await insertBatch(db(), b, at);
    expect(await findBatch(db(), id)).toEqual(b);
    await expect(insertBatch(db(), b, at)).rejects.toThrow();
  });

  it("rejects a malformed record without losing what is stored", async () => {
    const before = await countRecords(db());
    await expect(publish("bank-a", [row("bank-a"), row("bank-a", { tag: rnd(31) })])).rejects.toThrow(
      /check/,
    );
    // The batch runs in the caller's transaction; here (no transaction) the statement itself is atomic.
    expect(await countRecords(db())).toBe(before);
  });

  it("erases one record or all of a publisher's records under a tag, and purges by age", async () => {
    expect(await deleteRecords(db(), ids["bank-a"]!, [{ tag: other }])).toBe(1);
    expect(await deleteRecords(db(), ids["bank-b"]!, [{ tag: subject }])).toBe(1);
    expect(await purgeRecordsLastSeenBefore(db(), "2026-10-01")).toBe(1);
    const left = await findRecordsForTags(db(), {
      tags: [subject],
      epoch: 1,
      excludePublisher: ids["agency-c"]!,
    });
    expect(left.map((f) => f.kind)).toEqual(["email"]);
  });

  it("finds covering consents only when granted, unexpired, unrevoked, for the purpose and category", async () => {
    const base = {
      memberId: ids["agency-c"]!,
      tag: subject,
      purpose: "debt_collection" as const,
      legalBasis: "contract_performance" as const,
      dataCategories: ["contact" as const],
      grantedAt: new Date("2026-01-01T00:00:00Z"),
      expiresAt: new Date("2027-01-01T00:00:00Z"),
      evidenceHash: rnd(32),
    };
    await insertConsents(
      db(),
      [
        { ...base, reference: "ok" },
        { ...base, reference: "expired", tag: other, expiresAt: new Date("2026-06-01T00:00:00Z") },
      ],
      at,
    );
    await expect(insertConsents(db(), [{ ...base, reference: "ok" }], at)).rejects.toBeInstanceOf(
      ConflictError,
    );
    const q = {
      memberId: ids["agency-c"]!,
      tags: [subject, other],
      purpose: "debt_collection" as const,
      category: "contact" as const,
      at,
    };
    const covered = await coveringConsents(db(), q);
    expect([...covered.values()].map((c) => c.reference)).toEqual(["ok"]);
    expect((await coveringConsents(db(), { ...q, purpose: "credit_assessment" })).size).toBe(0);
    expect((await coveringConsents(db(), { ...q, category: "credit_exposure" })).size).toBe(0);
    expect((await coveringConsents(db(), { ...q, memberId: ids["bank-a"]! })).size).toBe(0);
    expect((await coveringConsents(db(), { ...q, at: new Date("2025-12-31T00:00:00Z") })).size).toBe(0);
    expect(
      (await revokeConsents(db(), ids["agency-c"]!, ["ok", "nope"], at)).map((c) => c.reference),
    ).toEqual(["ok"]);
    expect((await coveringConsents(db(), q)).size).toBe(0);
    expect((await listConsents(db(), ids["agency-c"]!)).length).toBe(2);
  });

  it("remembers nonces once and forgets old ones", async () => {
    const key = rnd(32);
    const nonce = rnd(16);
    expect(await rememberNonce(db(), key, nonce, at)).toBe(true);
    expect(await rememberNonce(db(), key, nonce, at)).toBe(false);
    expect(await rememberNonce(db(), rnd(32), nonce, at)).toBe(true);
    const parallel = await Promise.all(
      Array.from({ length: 8 }, () => rememberNonce(db(), key, Uint8Array.of(...rnd(15), 1), at)),
    );
    expect(parallel.every(Boolean)).toBe(true);
    expect(await forgetNoncesBefore(db(), new Date(at.getTime() + 1))).toBeGreaterThanOrEqual(2);
    expect(await rememberNonce(db(), key, nonce, at)).toBe(true);
  });

  it("consumes quota atomically and never past the limit, even in parallel", async () => {
    const q = { memberId: ids["bank-a"]!, day: "2026-11-26", counter: "lookup" as const, limit: 100n };
    const results = await Promise.all(
      Array.from({ length: 30 }, () => consumeQuota(db(), { ...q, amount: 7n })),
    );
    const granted = results.filter((r) => r !== undefined).length;
    expect(granted).toBe(14); // 14 × 7 = 98 ≤ 100 < 105
    expect(await quotaUsed(db(), q.memberId, q.day, "lookup")).toBe(98n);
    expect(await consumeQuota(db(), { ...q, amount: 2n })).toBe(100n);
    expect(await consumeQuota(db(), { ...q, amount: 1n })).toBeUndefined();
    expect(await consumeQuota(db(), { ...q, amount: 1n, day: "2026-11-27" })).toBe(1n);
    expect(await consumeQuota(db(), { ...q, amount: 101n, day: "2026-11-28" })).toBeUndefined();
  });
});
