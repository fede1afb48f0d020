/**
 * The skip-trace use cases on both backends with the real audit log and a fixed clock: publication
 * (idempotent, transactional), erasure, retention, the consent registry and lookups (threat T1: fishing),
 * each checked through the leaves it appended — which carry commitments to tags, never the tags.
 */
import { randomUUID } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { consentRevisions, countRecords, type Database, listConsents, quotaUsed } from "@relink/db";
import {
  type DirectoryUpsert,
  fromHex,
  type LookupInput,
  type PublishBatchInput,
  RelinkError,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import { type AuditEvent, deriveCommitmentKey, generateSignerKey, verifyReceipt } from "@relink/tlog";
import type { Kysely } from "kysely";
import { beforeAll, expect, it } from "vitest";
import { subjectCommitments } from "../src/audit/adapter.ts";
import type { AuthenticatedMember } from "../src/auth.ts";
import { registerConsents, revokeConsentsByReference } from "../src/consents.ts";
import { batchContentHash, eraseSubjects, publishBatch, purgeExpiredRecords } from "../src/directory.ts";
import { lookupContacts } from "../src/lookup.ts";
import { suspendMember } from "../src/members.ts";
import {
  attest,
  createTestCore,
  describeEachBackend,
  expectCode,
  onboardTestMember,
  type StoredAuditEvent,
  seededBytes,
  storedAuditEvents,
  TEST_LOG_ORIGIN,
  type TestCore,
  testConsent,
  testLookup,
} from "../src/testing.ts";

// ------------------------------------------------------------------------------------------------ helpers

const NOW = "2026-11-26T09:30:00.000Z";
/** Seconds from NOW to 2026-11-27T00:00:00Z. */
const SECONDS_TO_MIDNIGHT = 14 * 3600 + 30 * 60;

/** Subject tag n: 32 bytes no test writes down anywhere else. */
const T = (n: number) => sha256(new TextEncoder().encode(`relink-test-subject-${n}`));
const digest = (n: number) => toBase64Url(sha256(new TextEncoder().encode(`value-${n}`)));
const recordId = (n: number) => toBase64Url(sha256(new TextEncoder().encode(`record-${n}`)).slice(0, 16));
const sealed = (n: number, length = 40) => toBase64Url(new Uint8Array(length).fill(n & 255));

function upsert(
  tag: Uint8Array,
  n: number,
  over: Partial<DirectoryUpsert> & { value?: number } = {},
): DirectoryUpsert {
  const { value, ...rest } = over;
  return {
    tag: toBase64Url(tag),
    recordId: recordId(n),
    kind: "phone",
    labelVersion: 20_000 + n,
    valueDigest: digest(value ?? n),
    lastSeenOn: "2026-11-01",
    sealed: sealed(n),
    ...rest,
  };
}

function batch(upserts: DirectoryUpsert[], over: Partial<PublishBatchInput> = {}): PublishBatchInput {
  return { batchId: randomUUID(), epoch: 1, upserts, deletions: [], ...over };
}

const consent = testConsent;

const lookupInput = (tags: Uint8Array[], over: Partial<LookupInput> = {}) =>
  testLookup(tags, "case-4711", over);

/** The hub's audit commitment key in these tests: derived from the test log key (createTestCore). */
const COMMITMENT_KEY = deriveCommitmentKey(generateSignerKey(TEST_LOG_ORIGIN, seededBytes(1)).seed);
/** The keyed commitments (ADR 0040) `event` must carry for `tags`, under its own nonce and member. */
const commitments = (event: AuditEvent, tags: Uint8Array[]) =>
  subjectCommitments(
    { commitmentKey: COMMITMENT_KEY, nonce: fromHex(event.subjectNonce ?? "") },
    event.member ?? null,
    tags,
  ).map(toHex);
const consentRef = (id: string) => id.replaceAll("-", "");

/** Where leaves hold any of these 32-byte values: raw, or spelled in hex or base64url (every window). */
function occurrences(leaves: StoredAuditEvent[], tags: Uint8Array[]): string[] {
  const hex = new Set(tags.map(toHex));
  const b64 = new Set(tags.map(toBase64Url));
  const found: string[] = [];
  for (const { index, leaf, event } of leaves) {
    for (let i = 0; i + 32 <= leaf.length; i++) {
      if (hex.has(toHex(leaf.subarray(i, i + 32)))) found.push(`leaf ${index}: bytes at ${i}`);
    }
    const text = JSON.stringify(event);
    for (let i = 0; i < text.length; i++) {
      if (hex.has(text.slice(i, i + 64)) || b64.has(text.slice(i, i + 43)))
        found.push(`leaf ${index}: text at ${i}`);
    }
  }
  return found;
}

function expectNoTags(leaves: StoredAuditEvent[], tags: Uint8Array[]): void {
  expect(occurrences(leaves, tags)).toEqual([]);
  // The scan does find what is there: the keyed commitment to subject 1 is in the leaves, raw and in hex.
  const keyed = leaves.filter((l) => l.event.subjectNonce).flatMap((l) => commitments(l.event, [T(1)]));
  const found = occurrences(leaves, keyed.map(fromHex));
  expect(found.some((f) => f.includes("bytes"))).toBe(true);
  expect(found.some((f) => f.includes("text"))).toBe(true);
}

/** The leaves appended since `from`, one expected. */
async function onlyNewLeaf(db: Kysely<Database>, from: bigint): Promise<AuditEvent> {
  const leaves = await storedAuditEvents(db, from);
  expect(leaves).toHaveLength(1);
  return leaves[0]!.event;
}

async function logSize(db: Kysely<Database>): Promise<bigint> {
  const leaves = await storedAuditEvents(db);
  return BigInt(leaves.length);
}

function verifiedEvent(core: TestCore, receipt: unknown): AuditEvent {
  const v = verifyReceipt(receipt, { logKey: core.logVerifierKey });
  if (!v.ok) throw new Error(`receipt does not verify: ${v.reason} ${v.message}`);
  return v.event;
}

// -------------------------------------------------------------------------------------------- publication

describeEachBackend("publication", ({ db }) => {
  let core: TestCore;
  let who: AuthenticatedMember;
  let other: AuthenticatedMember;

  beforeAll(async () => {
    core = createTestCore(db(), { now: NOW });
    who = await (await onboardTestMember(core, { slug: "pub-a" })).authenticate();
    other = await (await onboardTestMember(core, { slug: "pub-b" })).authenticate();
  });

  it("applies a batch with its audit leaf, and a receipt for that leaf", async () => {
    const from = await logSize(db());
    const b = batch([upsert(T(1), 1), upsert(T(1), 2, { kind: "address" }), upsert(T(2), 3)]);
    const r = await publishBatch(core.deps, who, b);
    expect(r).toMatchObject({ batchId: b.batchId, replayed: false, upserted: 3, deleted: 0 });
    expect(await countRecords(db(), who.member.id)).toBe(3);
    const event = await onlyNewLeaf(db(), from);
    expect(event).toMatchObject({
      type: "directory.published",
      time: Date.parse(NOW),
      member: who.member.id,
      subjectTagCommitments: commitments(event, [T(1), T(1), T(2)]),
      inputSize: 3,
      outputCount: 3,
      decision: "allow",
      ruleIds: ["directory.publish"],
      requestHash: toHex(who.requestHash),
      responseHash: toHex(batchContentHash(b)),
    });
    expect(verifiedEvent(core, r.receipt)).toEqual(event);
  });

  it("answers a re-sent batch (same id, same content) with replayed:true and changes nothing", async () => {
    const b = batch([upsert(T(3), 10)]);
    const first = await publishBatch(core.deps, who, b);
    const size = await logSize(db());
    const before = await db().selectFrom("directory_record").selectAll().orderBy("record_id").execute();
    core.clock.advance(60_000);
    const again = await publishBatch(core.deps, who, structuredClone(b));
    expect(again).toEqual({ batchId: b.batchId, replayed: true, upserted: 1, deleted: 0, receipt: null });
    expect(first.replayed).toBe(false);
    expect(await logSize(db())).toBe(size);
    expect(await db().selectFrom("directory_record").selectAll().orderBy("record_id").execute()).toEqual(
      before,
    );
  });

  it("refuses the same batch id with other content, or from another member, as CONFLICT", async () => {
    const b = batch([upsert(T(4), 20)]);
    await publishBatch(core.deps, who, b);
    const size = await logSize(db());
    const records = await countRecords(db());
    await expectCode(
      publishBatch(core.deps, who, { ...b, upserts: [upsert(T(4), 20, { lastSeenOn: "2026-11-02" })] }),
      "CONFLICT",
    );
    await expectCode(
      publishBatch(core.deps, who, { ...b, deletions: [{ tag: toBase64Url(T(9)) }] }),
      "CONFLICT",
    );
    await expectCode(publishBatch(core.deps, other, b), "CONFLICT");
    expect(await logSize(db())).toBe(size);
    expect(await countRecords(db())).toBe(records);
  });

  it("refuses a batch of another epoch with a WRONG_EPOCH denial leaf and a log line", async () => {
    const from = await logSize(db());
    const b = batch([upsert(T(5), 30), upsert(T(6), 31)], { epoch: 2 });
    await expectCode(publishBatch(core.deps, who, b), "WRONG_EPOCH");
    expect(await onlyNewLeaf(db(), from)).toMatchObject({
      type: "denial",
      member: who.member.id,
      inputSize: 2,
      outputCount: 0,
      decision: "deny",
      decisionReason: "WRONG_EPOCH",
      ruleIds: ["directory.epoch"],
      requestHash: toHex(who.requestHash),
    });
    expect(core.logLines.at(-1)).toEqual({
      level: "warn",
      event: "request.denied",
      fields: { member: "pub-a", code: "WRONG_EPOCH", rule: "directory.epoch" },
    });
    const stored = await db()
      .selectFrom("publication_batch")
      .select("id")
      .where("id", "=", b.batchId)
      .execute();
    expect(stored).toEqual([]);
  });

  it("leaves nothing behind when a batch fails halfway: no records, no batch row, no leaf", async () => {
    const size = await logSize(db());
    const records = await countRecords(db());
    // 1,500 rows are written in two statements; row 1,400 overflows the int4 label_version column, so
    // the first 1,000 are already in the table (inside the transaction) when the database refuses.
    const upserts = Array.from({ length: 1500 }, (_, i) => upsert(T(100 + i), 1000 + i));
    upserts[1400] = { ...upserts[1400]!, labelVersion: 2 ** 31 };
    const b = batch(upserts, { deletions: [{ tag: toBase64Url(T(1)) }] });
    await expect(publishBatch(core.deps, who, b)).rejects.toThrow();
    expect(await countRecords(db())).toBe(records);
    expect(await logSize(db())).toBe(size);
    expect(
      await db().selectFrom("publication_batch").select("id").where("id", "=", b.batchId).execute(),
    ).toEqual([]);
    // The id is still free: the corrected batch applies (neither a replay nor a conflict).
    upserts[1400] = upsert(T(1500), 2400);
    const fixed = await publishBatch(core.deps, who, { ...b, upserts });
    expect(fixed).toMatchObject({ replayed: false, upserted: 1500, deleted: 2 });
    // Over 64 subjects the leaf commits to them with a Merkle root instead of a list.
    const event = (await storedAuditEvents(db(), size))[0]!.event;
    expect(event.subjectTagCommitments).toBeUndefined();
    expect(event.subjectTagsRoot?.count).toBe(1501);
  });

  it("refuses a batch naming the same record twice (BAD_INPUT with row and field), writing nothing", async () => {
    const size = await logSize(db());
    const records = await countRecords(db());
    const upserts = Array.from({ length: 1200 }, (_, i) => upsert(T(2000 + i), 3000 + i));
    for (const [first, again] of [
      [0, 1],
      [3, 1100], // in another insert statement: it would silently overwrite
    ] as const) {
      const twice = upserts.slice();
      twice[again] = { ...upserts[first]!, lastSeenOn: "2026-11-02" };
      const e = await expectCode(publishBatch(core.deps, who, batch(twice)), "BAD_INPUT");
      expect(e.details).toEqual({ row: again + 1, field: `upserts.${again}.recordId` });
    }
    expect(await countRecords(db())).toBe(records);
    expect(await logSize(db())).toBe(size);
  });

  it("refuses a sighting day after tomorrow (it would dodge retention), writing nothing", async () => {
    const size = await logSize(db());
    const records = await countRecords(db());
    const upserts = [upsert(T(4000), 5000), { ...upsert(T(4001), 5001), lastSeenOn: "2099-01-01" }];
    const e = await expectCode(publishBatch(core.deps, who, batch(upserts)), "BAD_INPUT");
    expect(e.details).toEqual({ row: 2, field: "upserts.1.lastSeenOn" });
    expect(await countRecords(db())).toBe(records);
    expect(await logSize(db())).toBe(size);
  });

  it("deletes a single record or all of the member's records under a tag, never another member's", async () => {
    await publishBatch(core.deps, other, batch([upsert(T(7), 40), upsert(T(7), 41)]));
    await publishBatch(core.deps, who, batch([upsert(T(7), 42), upsert(T(7), 43), upsert(T(8), 44)]));
    const r = await publishBatch(
      core.deps,
      who,
      batch([], {
        deletions: [{ tag: toBase64Url(T(8)), recordId: recordId(44) }, { tag: toBase64Url(T(7)) }],
      }),
    );
    expect(r).toMatchObject({ upserted: 0, deleted: 3 });
    const left = await db()
      .selectFrom("directory_record")
      .select(["publisher_id", "record_id"])
      .where("tag", "in", [T(7), T(8)])
      .execute();
    expect(left.map((x) => x.publisher_id)).toEqual([other.member.id, other.member.id]);
    const row = await db()
      .selectFrom("publication_batch")
      .select(["upserted", "deleted"])
      .where("id", "=", r.batchId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ upserted: 0, deleted: 3 });
  });

  it("erases the member's records under the tags, with a leaf committing to the tags", async () => {
    await publishBatch(core.deps, who, batch([upsert(T(20), 50), upsert(T(20), 51), upsert(T(21), 52)]));
    await publishBatch(core.deps, other, batch([upsert(T(20), 53)]));
    const from = await logSize(db());
    const r = await eraseSubjects(core.deps, who, [T(20), T(21), T(22)]);
    expect(r.deleted).toBe(3);
    const event = await onlyNewLeaf(db(), from);
    expect(event).toMatchObject({
      type: "directory.erased",
      member: who.member.id,
      subjectTagCommitments: commitments(event, [T(20), T(21), T(22)]),
      inputSize: 3,
      outputCount: 3,
      decision: "allow",
      ruleIds: ["directory.erase"],
    });
    expect(verifiedEvent(core, r.receipt)).toEqual(event);
    expect(
      await db().selectFrom("directory_record").select("publisher_id").where("tag", "=", T(20)).execute(),
    ).toEqual([{ publisher_id: other.member.id }]);
  });

  it("refuses a suspended member's publication with a denial leaf", async () => {
    const m = await onboardTestMember(core, { slug: "pub-suspended" });
    await suspendMember(core.deps, "pub-suspended", "unpaid fees");
    const suspended = await m.authenticate();
    const from = await logSize(db());
    await expectCode(publishBatch(core.deps, suspended, batch([upsert(T(30), 60)])), "MEMBER_SUSPENDED");
    expect(await onlyNewLeaf(db(), from)).toMatchObject({
      type: "denial",
      member: suspended.member.id,
      decisionReason: "MEMBER_SUSPENDED",
      ruleIds: ["member.active"],
    });
    expect(await countRecords(db(), suspended.member.id)).toBe(0);
  });

  it("no leaf carries a tag", async () => {
    const tags = Array.from({ length: 3200 }, (_, i) => T(i));
    expectNoTags(await storedAuditEvents(db()), tags);
  });
});

// ---------------------------------------------------------------------------------------------- retention

describeEachBackend("retention", ({ db }) => {
  it("purges records last seen before the retention period, by the injected clock, in one counted leaf", async () => {
    const core = createTestCore(db(), { now: NOW, policy: { retentionDays: 730 } });
    const who = await (await onboardTestMember(core, { slug: "keeper" })).authenticate();
    // NOW − 730 days = 2024-11-26: a record last seen that day is kept, the day before is gone.
    await publishBatch(
      core.deps,
      who,
      batch([
        upsert(T(1), 1, { lastSeenOn: "2024-11-24" }),
        upsert(T(1), 2, { lastSeenOn: "2024-11-25" }),
        upsert(T(2), 3, { lastSeenOn: "2024-11-26" }),
        upsert(T(3), 4, { lastSeenOn: "2026-11-20" }),
      ]),
    );
    const from = await logSize(db());
    expect(await purgeExpiredRecords(core.deps)).toBe(2);
    expect(await countRecords(db())).toBe(2);
    const event = await onlyNewLeaf(db(), from);
    expect(event).toMatchObject({
      type: "directory.purged",
      time: Date.parse(NOW),
      inputSize: 0,
      outputCount: 2,
      decision: "allow",
      ruleIds: ["retention.730d"],
    });
    expect(event.member).toBeUndefined();
    expect(event.subjectTagCommitments).toBeUndefined();

    // Nothing more to purge today: no leaf.
    expect(await purgeExpiredRecords(core.deps)).toBe(0);
    expect(await logSize(db())).toBe(from + 1n);

    // A day later the 2024-11-26 record has expired too.
    core.clock.advance(86_400_000);
    expect(await purgeExpiredRecords(core.deps)).toBe(1);
    expect((await onlyNewLeaf(db(), from + 1n)).outputCount).toBe(1);
    expect(await countRecords(db())).toBe(1);
    expect(core.logLines.filter((l) => l.event === "directory.purged").map((l) => l.fields)).toEqual([
      { purged: 2, cutoff: "2024-11-26" },
      { purged: 0, cutoff: "2024-11-26" },
      { purged: 1, cutoff: "2024-11-27" },
    ]);
  });
});

// ----------------------------------------------------------------------------------- consents and lookups

describeEachBackend("consents and lookups", ({ db }) => {
  let core: TestCore;
  let a: AuthenticatedMember;
  let b: AuthenticatedMember;
  let c: AuthenticatedMember;
  let d: AuthenticatedMember;
  const usedTags = Array.from({ length: 40 }, (_, i) => T(i));

  beforeAll(async () => {
    core = createTestCore(db(), { now: NOW });
    a = await (await onboardTestMember(core, { slug: "lender-a", capabilities: ["lender"] })).authenticate();
    b = await (await onboardTestMember(core, { slug: "lender-b", capabilities: ["lender"] })).authenticate();
    c = await (await onboardTestMember(core, { slug: "collector-c" })).authenticate();
    d = await (
      await onboardTestMember(core, { slug: "collector-d", capabilities: ["collector"] })
    ).authenticate();
    // Subject 1: A and B both hold phone value 1; C (the querier) holds it too, and its own record must
    // never come back. A also has an address, B an e-mail. Subjects 2..8 have one record each, from A.
    await publishBatch(
      core.deps,
      a,
      batch([
        upsert(T(1), 1, { value: 1, lastSeenOn: "2026-10-01" }),
        upsert(T(1), 2, { value: 2, kind: "address", lastSeenOn: "2026-11-01" }),
        ...[2, 3, 4, 5, 6, 7, 8].map((n) => upsert(T(n), 10 + n)),
      ]),
    );
    await publishBatch(
      core.deps,
      b,
      batch([
        upsert(T(1), 3, { value: 1, lastSeenOn: "2026-09-01" }),
        upsert(T(1), 4, { value: 4, kind: "email", lastSeenOn: "2026-08-01" }),
      ]),
    );
    await publishBatch(core.deps, c, batch([upsert(T(1), 5, { value: 1, lastSeenOn: "2026-11-20" })]));
    // The same subject in the next epoch (another key, another tag space in reality): never mixed in.
    const next = createTestCore(db(), { now: NOW, policy: { epoch: 2 } });
    await publishBatch(next.deps, a, batch([upsert(T(1), 6, { value: 1 })], { epoch: 2 }));
  });

  it("registers consents with a leaf naming them by id and committing to their tags", async () => {
    const from = await logSize(db());
    const r = await registerConsents(
      core.deps,
      c,
      attest(core, c, [
        consent(T(1), "case-1"),
        consent(T(2), "case-2", { legalBasis: "court_order", dataCategories: ["contact", "employment"] }),
      ]),
    );
    expect(r.consents.map((x) => x.reference)).toEqual(["case-1", "case-2"]);
    const event = await onlyNewLeaf(db(), from);
    expect(event).toMatchObject({
      type: "consent.registered",
      member: c.member.id,
      subjectTagCommitments: commitments(event, [T(1), T(2)]),
      consentRefs: r.consents.map((x) => consentRef(x.id)),
      inputSize: 2,
      outputCount: 2,
      decision: "allow",
      ruleIds: ["consent.register"],
      requestHash: toHex(c.requestHash),
    });
    expect(verifiedEvent(core, r.receipt)).toEqual(event);
  });

  it("re-registering is idempotent per reference: unchanged is a no-op, a change is an update leaf", async () => {
    const first = await registerConsents(
      core.deps,
      c,
      attest(core, c, [consent(T(34), "case-34"), consent(T(35), "case-35")]),
    );
    expect(first.consents).toHaveLength(2);
    // The same file again: nothing written, no leaf, no receipt.
    const size = await logSize(db());
    const same = await registerConsents(
      core.deps,
      c,
      attest(core, c, [
        consent(T(34), "case-34"),
        consent(T(35), "case-35", { dataCategories: ["contact"] }),
      ]),
    );
    expect([same.consents.length, same.updated.length, same.unchanged.length]).toEqual([0, 0, 2]);
    expect(same.receipt).toBeNull();
    expect(await logSize(db())).toBe(size);
    // One row changed (a new expiry), one new: two leaves, the update under its own rule.
    const from = await logSize(db());
    const changed = await registerConsents(
      core.deps,
      c,
      attest(core, c, [
        consent(T(34), "case-34"),
        consent(T(35), "case-35", { expiresAt: "2028-01-01T00:00:00Z" }),
        consent(T(36), "case-36"),
      ]),
    );
    expect(changed.consents.map((x) => x.reference)).toEqual(["case-36"]);
    expect(changed.updated.map((x) => [x.reference, x.revision])).toEqual([["case-35", 2]]);
    expect(changed.unchanged.map((x) => x.reference)).toEqual(["case-34"]);
    const leaves = (await storedAuditEvents(db(), from)).map((l) => l.event);
    expect(leaves.map((e) => [e.type, e.ruleIds, e.outputCount])).toEqual([
      ["consent.registered", ["consent.register"], 1],
      ["consent.registered", ["consent.update"], 1],
    ]);
    expect(leaves[1]).toMatchObject({
      consentRefs: [consentRef(changed.updated[0]!.id)],
      subjectTagCommitments: commitments(leaves[1]!, [T(35)]),
    });
    expect(changed.receipts.map((r) => verifiedEvent(core, r))).toEqual(leaves);
    // The superseded version is kept for the DPO.
    const history = await consentRevisions(db(), changed.updated[0]!.id);
    expect(history.map((h) => [h.revision, h.expires_at.toISOString()])).toEqual([
      [1, "2027-01-01T00:00:00.000Z"],
    ]);
    // The same reference twice in one registration is refused, writing nothing.
    const before = (await listConsents(db(), c.member.id)).length;
    await expect(
      registerConsents(core.deps, c, attest(core, c, [consent(T(37), "case-37"), consent(T(38), "case-37")])),
    ).rejects.toMatchObject({ code: "BAD_INPUT" });
    expect((await listConsents(db(), c.member.id)).length).toBe(before);
  });

  it("revokes by reference only the member's own active consents, each revocation logged", async () => {
    await registerConsents(
      core.deps,
      c,
      attest(core, c, [
        consent(T(6), "case-6"),
        consent(T(32), "shared-ref"),
        consent(T(39), "row-7#1"),
        consent(T(30), "row-7#2"),
      ]),
    );
    await registerConsents(core.deps, d, attest(core, d, [consent(T(33), "shared-ref")]));
    // An unknown reference refuses the whole request, naming it; nothing is revoked or logged.
    const size = await logSize(db());
    const refused = await revokeConsentsByReference(core.deps, c, ["case-6", "no-such-ref"]).catch((e) => e);
    expect(refused).toBeInstanceOf(RelinkError);
    expect(refused.code).toBe("NOT_FOUND");
    expect(refused.message).toContain('"no-such-ref"');
    expect(refused.message).not.toContain("case-6");
    expect(await logSize(db())).toBe(size);
    expect((await listConsents(db(), c.member.id)).every((x) => x.revokedAt === null)).toBe(true);

    const from = await logSize(db());
    // "row-7" names both of its per-identifier records.
    const r = await revokeConsentsByReference(core.deps, c, ["case-6", "shared-ref", "row-7"]);
    expect(r.revoked.map((x) => x.reference).sort()).toEqual(["case-6", "row-7#1", "row-7#2", "shared-ref"]);
    const event = await onlyNewLeaf(db(), from);
    expect(event).toMatchObject({
      type: "consent.revoked",
      member: c.member.id,
      consentRefs: r.revoked.map((x) => consentRef(x.id)),
      inputSize: 3,
      outputCount: 4,
      ruleIds: ["consent.revoke"],
    });
    expect([...(event.subjectTagCommitments ?? [])].sort()).toEqual(
      commitments(event, [T(6), T(32), T(39), T(30)]).sort(),
    );
    expect(verifiedEvent(core, r.receipt)).toEqual(event);
    // D's consent under the same reference is untouched; revoking again changes nothing and logs nothing.
    expect((await listConsents(db(), d.member.id))[0]!.revokedAt).toBeNull();
    const again = await revokeConsentsByReference(core.deps, c, ["case-6"]);
    expect([again.revoked.length, again.alreadyRevoked, again.receipt]).toEqual([0, 1, null]);
    // Re-importing a revoked reference leaves it revoked (a new grant needs a new reference).
    const reimport = await registerConsents(
      core.deps,
      c,
      attest(core, c, [consent(T(6), "case-6", { expiresAt: "2029-01-01T00:00:00Z" })]),
    );
    expect([reimport.consents.length, reimport.updated.length, reimport.revoked.length]).toEqual([0, 0, 1]);
  });

  it("returns records only for consented tags of the purpose, never the querier's own, with corroboration", async () => {
    await registerConsents(
      core.deps,
      c,
      attest(core, c, [
        consent(T(3), "case-3", { purpose: "credit_assessment" }), // other purpose
        consent(T(4), "case-4", { dataCategories: ["employment"] }), // not the contact category
        consent(T(5), "case-5", { expiresAt: "2026-11-26T09:29:59Z" }), // expired a second ago
        consent(T(7), "case-7", { grantedAt: "2026-11-26T09:30:01Z" }), // not granted yet
      ]),
    );
    await registerConsents(core.deps, d, attest(core, d, [consent(T(8), "a-case-8")])); // another member's consent
    const tags = [1, 2, 3, 4, 5, 6, 7, 8].map(T);
    const from = await logSize(db());
    const used = await quotaUsed(db(), c.member.id, "2026-11-26", "lookup");
    const lines = core.logLines.length;
    const r = await lookupContacts(core.deps, c, lookupInput(tags));
    expect(r.results.map((x) => [x.tag, x.status])).toEqual(
      tags.map((t, i) => [toBase64Url(t), i < 2 ? "ok" : "no_consent"]),
    );
    for (const x of r.results.slice(2)) expect(x.records).toEqual([]);
    // Subject 1: newest first; C's own record is not among them; phone value 1 is held by A, B and C.
    expect(r.results[0]!.records).toEqual([
      {
        kind: "address",
        recordId: recordId(2),
        labelVersion: 20_002,
        lastSeenOn: "2026-11-01",
        sealed: sealed(2),
        corroboration: 1,
      },
      {
        kind: "phone",
        recordId: recordId(1),
        labelVersion: 20_001,
        lastSeenOn: "2026-10-01",
        sealed: sealed(1),
        corroboration: 3,
      },
      {
        kind: "phone",
        recordId: recordId(3),
        labelVersion: 20_003,
        lastSeenOn: "2026-09-01",
        sealed: sealed(3),
        corroboration: 3,
      },
      {
        kind: "email",
        recordId: recordId(4),
        labelVersion: 20_004,
        lastSeenOn: "2026-08-01",
        sealed: sealed(4),
        corroboration: 1,
      },
    ]);
    expect(r.results[1]!.records.map((x) => x.recordId)).toEqual([recordId(12)]);
    expect(await quotaUsed(db(), c.member.id, "2026-11-26", "lookup")).toBe(used + 8n);

    const consents = await listConsents(db(), c.member.id);
    const relied = ["case-1", "case-2"].map((ref) => consents.find((x) => x.reference === ref)!.id);
    const event = await onlyNewLeaf(db(), from);
    // The consents relied on, in any order.
    expect([...(event.consentRefs ?? [])].sort()).toEqual(relied.map(consentRef).sort());
    expect({ ...event, consentRefs: undefined }).toEqual({
      type: "lookup",
      time: Date.parse(NOW),
      softwareVersion: "relink-test-0.0.0",
      member: c.member.id,
      purpose: "debt_collection",
      legalBasis: "consent,court_order",
      caseCommitment: toHex(sha256(new TextEncoder().encode("case-4711"))),
      subjectTagCommitments: commitments(event, tags),
      subjectNonce: event.subjectNonce,
      consentRefs: undefined,
      inputSize: 8,
      outputCount: 5,
      decision: "allow",
      ruleIds: ["lookup.consent", "lookup.partial-consent"],
      requestHash: toHex(c.requestHash),
    });
    expect(verifiedEvent(core, r.receipt)).toEqual(event);
    expect(core.logLines.slice(lines)).toContainEqual({
      level: "warn",
      event: "lookup.unconsented-tags",
      fields: { member: "collector-c", asked: 8, unconsented: 6 },
    });
  });

  it("a consent for one purpose does not cover another: the same tags under another purpose are no_consent", async () => {
    const r = await lookupContacts(core.deps, c, lookupInput([T(1), T(3)], { purpose: "credit_assessment" }));
    expect(r.results.map((x) => x.status)).toEqual(["no_consent", "ok"]);
    expect(r.results[0]!.records).toEqual([]);
    expect(r.results[1]!.records.map((x) => x.recordId)).toEqual([recordId(13)]);
  });

  it("refuses a suspended member with MEMBER_SUSPENDED and a denial leaf, charging nothing", async () => {
    const m = await onboardTestMember(core, { slug: "collector-suspended" });
    await suspendMember(core.deps, "collector-suspended", "complaint under review");
    const who = await m.authenticate();
    const from = await logSize(db());
    await expectCode(lookupContacts(core.deps, who, lookupInput([T(1)])), "MEMBER_SUSPENDED");
    expect(await onlyNewLeaf(db(), from)).toMatchObject({
      type: "denial",
      member: who.member.id,
      decision: "deny",
      decisionReason: "MEMBER_SUSPENDED",
      ruleIds: ["member.active"],
      requestHash: toHex(who.requestHash),
    });
    expect(core.logLines.at(-1)).toMatchObject({ level: "warn", event: "request.denied" });
    expect(await quotaUsed(db(), who.member.id, "2026-11-26", "lookup")).toBe(0n);
  });

  it("refuses a member without the collector capability with FORBIDDEN and a denial leaf, charging nothing", async () => {
    const from = await logSize(db());
    await expectCode(lookupContacts(core.deps, a, lookupInput([T(1), T(2)])), "FORBIDDEN");
    const event = await onlyNewLeaf(db(), from);
    expect(event).toMatchObject({
      type: "denial",
      member: a.member.id,
      purpose: "debt_collection",
      subjectTagCommitments: commitments(event, [T(1), T(2)]),
      inputSize: 2,
      outputCount: 0,
      decisionReason: "FORBIDDEN",
      ruleIds: ["lookup.capability"],
    });
    expect(await quotaUsed(db(), a.member.id, "2026-11-26", "lookup")).toBe(0n);
  });

  it("refuses tags of another epoch with WRONG_EPOCH and a denial leaf", async () => {
    const from = await logSize(db());
    await expectCode(lookupContacts(core.deps, c, lookupInput([T(1)], { epoch: 2 })), "WRONG_EPOCH");
    expect(await onlyNewLeaf(db(), from)).toMatchObject({
      type: "denial",
      decisionReason: "WRONG_EPOCH",
      ruleIds: ["lookup.epoch"],
    });
  });

  it("enforces the daily quota per tag, with retryAfterSeconds to the next UTC day by the injected clock", async () => {
    const q = await (
      await onboardTestMember(core, { slug: "collector-q", dailyLookupQuota: 5 })
    ).authenticate();
    await lookupContacts(core.deps, q, lookupInput([T(1), T(2), T(3)]));
    const from = await logSize(db());
    const e = await expectCode(
      lookupContacts(core.deps, q, lookupInput([T(4), T(5), T(6)])),
      "QUOTA_EXCEEDED",
    );
    expect(e.details.retryAfterSeconds).toBe(SECONDS_TO_MIDNIGHT);
    expect(await onlyNewLeaf(db(), from)).toMatchObject({
      type: "denial",
      member: q.member.id,
      inputSize: 3,
      decisionReason: "QUOTA_EXCEEDED",
      ruleIds: ["lookup.quota"],
    });
    // A refused request charges nothing: exactly the two remaining tags still fit.
    expect(await quotaUsed(db(), q.member.id, "2026-11-26", "lookup")).toBe(3n);
    await lookupContacts(core.deps, q, lookupInput([T(4), T(5)]));
    core.clock.set("2026-11-26T23:59:59.250Z");
    const late = await expectCode(lookupContacts(core.deps, q, lookupInput([T(6)])), "QUOTA_EXCEEDED");
    expect(late.details.retryAfterSeconds).toBe(1);
    core.clock.set("2026-11-27T00:00:00.000Z");
    try {
      await expect(lookupContacts(core.deps, q, lookupInput([T(6)]))).resolves.toBeDefined();
      expect(await quotaUsed(db(), q.member.id, "2026-11-27", "lookup")).toBe(1n);
    } finally {
      core.clock.set(NOW);
    }
  });

  it("consumes the quota atomically: parallel lookups never exceed it", async () => {
    const p = await (
      await onboardTestMember(core, { slug: "collector-p", dailyLookupQuota: 10 })
    ).authenticate();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        lookupContacts(core.deps, p, lookupInput([T(10 + 2 * i), T(11 + 2 * i)])),
      ),
    );
    const ok = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(ok).toHaveLength(5);
    for (const o of refused) expect(o.reason).toMatchObject({ code: "QUOTA_EXCEEDED" });
    expect(await quotaUsed(db(), p.member.id, "2026-11-26", "lookup")).toBe(10n);
  });

  it("no leaf carries a tag: only commitments", async () => {
    expectNoTags(await storedAuditEvents(db()), usedTags);
  });
});
