/**
 * Consent-membership proofs at the hub (ADR 0050) on both backends, with real Groth16 proofs from the
 * committed artifacts: a member commits a consent root (logged with the vkey hash); its lookups then
 * need one valid proof per tag under a logged root. The hub refuses — before reading any record, with a
 * denial leaf — a query without proofs, with a proof that fails (another tag's, another purpose's, another
 * data category's, a flipped bit), with a root it never logged, or with a query time outside its skew. The proof bundle is
 * stored with the lookup, committed to by its leaf, and re-verifies offline.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { type ErrorCode, type LookupInput, toBase64Url, toHex } from "@relink/protocol";
import { verifyReceipt } from "@relink/tlog";
import { codeField, fieldToBytes, parseBundle, VERIFICATION_KEY, VKEY_HASH, verifyBundle } from "@relink/zk";
import { beforeAll, describe, expect, it } from "vitest";
import type { AuthenticatedMember } from "../src/auth.ts";
import { commitConsentRoot, consentProofBundle, VerifiedProofCache } from "../src/consent-proofs.ts";
import { publishBatch } from "../src/directory.ts";
import { lookupContacts } from "../src/lookup.ts";
import {
  authenticatedTestMember,
  b64root,
  consentProofsInput,
  consentRootInput,
  createTestCore,
  describeEachBackend,
  expectCode,
  proveTestConsentBook,
  storedAuditEvents,
  type TestConsentProofs,
  type TestCore,
  testConsentBook,
} from "../src/testing.ts";

const NOW = "2026-12-03T09:30:00.000Z";
const NOW_MS = Date.parse(NOW);
const T = (n: number) => sha256(new TextEncoder().encode(`relink-zk-test-subject-${n}`));
const PURPOSE = "debt_collection";

/**
 * The member's book: subjects 1 and 2 for debt collection, 3 for fraud prevention, 4 for credit exposure;
 * and a stray one.
 */
const consentBook = testConsentBook(T, PURPOSE, "contact");
const { tree, stray, openings: book } = consentBook;
let proofs: TestConsentProofs;
/** A horizon three days ahead (ADR 0049): subject 1's consent runs to mid-2027. */
const AHEAD_MS = NOW_MS + 3 * 86_400_000;

beforeAll(async () => {
  // Six proofs for the whole file (about a second each).
  proofs = await proveTestConsentBook(consentBook, NOW_MS, { aheadMs: AHEAD_MS });
});

function lookup(
  tags: Uint8Array[],
  items: { root: bigint; proof: Uint8Array }[],
  over: Partial<LookupInput> = {},
): LookupInput {
  return {
    epoch: 1,
    purpose: PURPOSE,
    tags: tags.map(toBase64Url),
    caseCommitment: toBase64Url(sha256(new TextEncoder().encode("case-zk"))),
    consentProofs: consentProofsInput(NOW_MS, items),
    ...over,
  };
}

describeEachBackend("consent-membership proofs", ({ db }) => {
  let core: TestCore;
  let who: AuthenticatedMember;
  let publisher: AuthenticatedMember;
  let plain: AuthenticatedMember;

  const lastEvent = async () => (await storedAuditEvents(db())).at(-1)!.event;
  const refused = async (input: LookupInput, rule: string, code: ErrorCode = "NO_CONSENT") => {
    const before = (await storedAuditEvents(db())).length;
    await expectCode(lookupContacts(core.deps, who, input), code);
    const leaves = await storedAuditEvents(db());
    if (code === "NO_CONSENT") {
      expect(leaves).toHaveLength(before + 1);
      expect(leaves.at(-1)!.event).toMatchObject({
        type: "denial",
        decision: "deny",
        ruleIds: [rule],
        decisionReason: code,
      });
    }
  };

  beforeAll(async () => {
    core = createTestCore(db(), { now: NOW });
    who = await authenticatedTestMember(core, { slug: "zk-a", capabilities: ["collector"] });
    publisher = await authenticatedTestMember(core, { slug: "zk-pub" });
    plain = await authenticatedTestMember(core, { slug: "zk-plain", capabilities: ["collector"] });
    await publishBatch(core.deps, publisher, {
      batchId: crypto.randomUUID(),
      epoch: 1,
      upserts: [1, 2].map((n) => ({
        tag: toBase64Url(T(n)),
        recordId: toBase64Url(sha256(new TextEncoder().encode(`rec-${n}`)).slice(0, 16)),
        kind: "phone" as const,
        labelVersion: 20_000,
        valueDigest: toBase64Url(sha256(new TextEncoder().encode(`v-${n}`))),
        lastSeenOn: "2026-11-01",
        sealed: toBase64Url(new Uint8Array(40).fill(n)),
      })),
      deletions: [],
    });
  });

  it("commits a consent root: a consent.root_committed leaf with the root, its size and the vkey hash", async () => {
    const bad = { root: b64root(tree.root()), count: 4, vkeyHash: toBase64Url(new Uint8Array(32)) };
    await expectCode(commitConsentRoot(core.deps, who, bad), "BAD_INPUT");
    const notField = { ...bad, root: toBase64Url(new Uint8Array(32).fill(0xff)) };
    await expectCode(commitConsentRoot(core.deps, who, notField), "BAD_INPUT");
    const input = consentRootInput(consentBook);
    expect(input.count).toBe(4);
    const r = await commitConsentRoot(core.deps, who, input);
    expect(r.committed).toBe(true);
    const v = verifyReceipt(r.receipt, { logKey: core.logVerifierKey });
    if (!v.ok) throw new Error(v.message);
    expect(v.event).toMatchObject({
      type: "consent.root_committed",
      member: who.member.id,
      consentRoot: { root: toHex(fieldToBytes(tree.root())), count: 4 },
      zkVkeyHash: VKEY_HASH,
    });
    const size = (await storedAuditEvents(db())).length;
    expect((await commitConsentRoot(core.deps, who, input)).committed).toBe(false);
    expect(await storedAuditEvents(db())).toHaveLength(size);
  });

  it("answers a lookup whose proofs verify, commits to them in the leaf and stores them for offline checks", async () => {
    const r = await lookupContacts(
      core.deps,
      who,
      lookup(
        [T(1), T(2)],
        [
          { root: tree.root(), proof: proofs.s1 },
          { root: tree.root(), proof: proofs.s2 },
        ],
      ),
    );
    expect(r.results.map((x) => [x.status, x.records.length])).toEqual([
      ["ok", 1],
      ["ok", 1],
    ]);
    const v = verifyReceipt(r.receipt, { logKey: core.logVerifierKey });
    if (!v.ok) throw new Error(v.message);
    expect(v.event).toMatchObject({ type: "lookup", ruleIds: ["lookup.consent-proof"] });
    expect(v.event.consentRefs).toBeUndefined();
    expect(v.event.legalBasis).toBeUndefined();
    const stored = parseBundle(await consentProofBundle(core.deps, who, BigInt(v.index)));
    const check = await verifyBundle(VERIFICATION_KEY, VKEY_HASH, stored);
    expect(check).toMatchObject({ ok: true, roots: [toHex(fieldToBytes(tree.root()))] });
    expect(check.ok && check.commitment).toBe(v.event.consentProofsHash);
    // Another member cannot fetch it.
    await expectCode(consentProofBundle(core.deps, plain, BigInt(v.index)), "NOT_FOUND");
  });

  it("refuses, before reading records, a lookup without proofs once the member committed a root", async () => {
    const { consentProofs: _none, ...input } = lookup([T(1)], [{ root: tree.root(), proof: proofs.s1 }]);
    await refused(input, "lookup.consent-proof.required");
  });

  it("refuses a proof that fails: another tag's, another purpose's, a flipped bit", async () => {
    await refused(lookup([T(1)], [{ root: tree.root(), proof: proofs.s2 }]), "lookup.consent-proof.invalid");
    // Subject 3's consent is for fraud prevention: its valid proof does not cover debt collection.
    await refused(
      lookup([T(3)], [{ root: tree.root(), proof: proofs.s3fraud }]),
      "lookup.consent-proof.invalid",
    );
    const flipped = proofs.s1.slice();
    flipped[200]! ^= 1; // in C's x coordinate: off the curve or another point, never the proof
    await refused(lookup([T(1)], [{ root: tree.root(), proof: flipped }]), "lookup.consent-proof.invalid");
    // One bad proof among good ones refuses the whole query.
    await refused(
      lookup(
        [T(1), T(2)],
        [
          { root: tree.root(), proof: proofs.s1 },
          { root: tree.root(), proof: proofs.s1 },
        ],
      ),
      "lookup.consent-proof.invalid",
    );
    // Subject 4's consent covers credit exposure, not contact data (ADR 0048): its valid proof, for the
    // same purpose, does not cover a lookup, which reads contact records.
    await refused(
      lookup([T(4)], [{ root: tree.root(), proof: proofs.s4otherCategory }]),
      "lookup.consent-proof.invalid",
    );
    // …and the fraud-prevention proof does verify for its own purpose.
    const ok = await lookupContacts(
      core.deps,
      who,
      lookup([T(3)], [{ root: tree.root(), proof: proofs.s3fraud }], { purpose: "fraud_prevention" }),
    );
    expect(ok.results[0]!.status).toBe("ok");
  });

  it("refuses a valid proof under a root that was never logged (for this member)", async () => {
    await refused(
      lookup([T(1)], [{ root: stray.root(), proof: proofs.stray1 }]),
      "lookup.consent-proof.root",
    );
    // A member's logged root is not another member's: `plain` presenting `who`'s proof is refused.
    await expectCode(
      lookupContacts(core.deps, plain, lookup([T(1)], [{ root: tree.root(), proof: proofs.s1 }])),
      "NO_CONSENT",
    );
    expect(await lastEvent()).toMatchObject({
      type: "denial",
      member: plain.member.id,
      ruleIds: ["lookup.consent-proof.root"],
    });
  });

  it("refuses a query time outside the hub's skew, and malformed proofs as BAD_INPUT naming the row", async () => {
    const stale = lookup([T(1)], [{ root: tree.root(), proof: proofs.s1 }]);
    stale.consentProofs!.queryTime = NOW_MS - 10 * 60_000;
    await refused(stale, "lookup.consent-proof.time");
    await refused(lookup([T(1), T(2)], [{ root: tree.root(), proof: proofs.s1 }]), "", "BAD_INPUT");
    const e = await expectCode(
      lookupContacts(
        core.deps,
        who,
        lookup([T(1)], [{ root: tree.root(), proof: new Uint8Array(256).fill(0xff) }]),
      ),
      "BAD_INPUT",
    );
    expect(e.details).toMatchObject({ row: 1, field: "consentProofs.items.proof" });
  });

  it("accepts a proof made ahead for a horizon only as far as the policy allows, and verifies it once (ADR 0049)", async () => {
    const ahead = lookup([T(1)], [{ root: tree.root(), proof: proofs.s1ahead! }]);
    ahead.consentProofs!.queryTime = AHEAD_MS;
    // Default policy: a proof's time is the query's, within the skew.
    await refused(ahead, "lookup.consent-proof.time");
    const verifiedProofs = new VerifiedProofCache();
    const week = {
      ...core.deps,
      policy: { ...core.deps.policy, consentProofs: { maxHorizonMs: 7 * 86_400_000 } },
      verifiedProofs,
    };
    const hits = verifiedProofs.hits;
    for (let n = 0; n < 2; n++) {
      const r = await lookupContacts(week, who, ahead);
      expect(r.results[0]!.status).toBe("ok");
    }
    expect(verifiedProofs.hits).toBe(hits + 1);
    // Past the horizon the policy allows, or in the past beyond the skew: refused before any pairing check.
    const far = lookup([T(1)], [{ root: tree.root(), proof: proofs.s1ahead! }]);
    far.consentProofs!.queryTime = NOW_MS + 8 * 86_400_000;
    await expectCode(lookupContacts(week, who, far), "NO_CONSENT");
    expect(await lastEvent()).toMatchObject({ ruleIds: ["lookup.consent-proof.time"] });
    // The known-good proof does not vouch for another statement or for altered bytes.
    const otherTime = lookup([T(1)], [{ root: tree.root(), proof: proofs.s1ahead! }]);
    otherTime.consentProofs!.queryTime = AHEAD_MS + 1;
    await expectCode(lookupContacts(week, who, otherTime), "NO_CONSENT");
    expect(await lastEvent()).toMatchObject({ ruleIds: ["lookup.consent-proof.invalid"] });
    const flipped = proofs.s1ahead!.slice();
    flipped[200]! ^= 1;
    const tampered = lookup([T(1)], [{ root: tree.root(), proof: flipped }]);
    tampered.consentProofs!.queryTime = AHEAD_MS;
    await expectCode(lookupContacts(week, who, tampered), "NO_CONSENT");
    // Another member presenting it is refused at the root check.
    await expectCode(lookupContacts(week, plain, ahead), "NO_CONSENT");
  });

  it("keeps the openings from the hub: no evidence hash, salt, expiry or legal-basis value in any table", async () => {
    const dump: string[] = [];
    const hexOf = (v: unknown): string =>
      v instanceof Uint8Array
        ? toHex(v)
        : typeof v === "object" && v !== null
          ? JSON.stringify(v, (_k, x) =>
              x instanceof Uint8Array ? toHex(x) : typeof x === "bigint" ? String(x) : x,
            )
          : String(v);
    for (const table of ["consent_root", "consent_proof_bundle", "audit_log_leaf", "consent"] as const) {
      const rows = await db().selectFrom(table).selectAll().execute();
      for (const row of rows) for (const v of Object.values(row)) dump.push(hexOf(v));
    }
    const text = dump.join("\n");
    // The scan finds what is there: the committed root and the queried tags are stored.
    expect(text).toContain(toHex(fieldToBytes(tree.root())));
    expect(text).toContain(toHex(T(1)));
    for (const o of book) {
      expect(text).not.toContain(toHex(o.evidenceHash));
      expect(text).not.toContain(toHex(o.salt));
      expect(text).not.toContain(String(o.expiresAt));
    }
    expect(text).not.toContain(toHex(fieldToBytes(codeField("legal_basis", "consent"))));
  });
});

describe("VerifiedProofCache", () => {
  it("recognises what it was told, counts hits, and forgets the oldest entry beyond its bound", () => {
    const cache = new VerifiedProofCache(2);
    expect(cache.has("a")).toBe(false);
    cache.remember("a");
    cache.remember("b");
    cache.remember("a"); // already known: does not refresh or duplicate
    expect(cache.size).toBe(2);
    cache.remember("c");
    expect([cache.has("a"), cache.has("b"), cache.has("c")]).toEqual([false, true, true]);
    expect(cache.hits).toBe(2);
    expect(() => new VerifiedProofCache(0)).toThrow(RangeError);
  });
});
