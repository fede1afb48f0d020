/**
 * Consent-membership proofs on exposure queries (ADR 0050, ADR 0047) on both backends, with real Groth16
 * proofs from the committed artifacts, the real round coordinator and @relink/he: once the querier has
 * committed a consent root, each exposure query must carry one valid proof per tag, verified by the hub
 * before anything else is read — by the same check lookups go through. The hub refuses (NO_CONSENT, a
 * denial leaf `exposure.consent-proof.*`, no round, no budget spent) a query without proofs, with a proof
 * for another purpose, for a tag not in the tree, a tampered proof, or a root it never logged. An answered
 * query's leaf commits to the bundle, which is stored by the leaf's index and re-verifies offline; the
 * cached answer of an identical query gets its own leaf and bundle.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { exposureBudgetUsed } from "@relink/db";
import { loadHe } from "@relink/he";
import { type ExposureQueryInput, toBase64Url, toHex } from "@relink/protocol";
import { verifyReceipt } from "@relink/tlog";
import { fieldToBytes, parseBundle, VERIFICATION_KEY, VKEY_HASH, verifyBundle } from "@relink/zk";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AuthenticatedMember } from "../src/auth.ts";
import { commitConsentRoot, consentProofBundle } from "../src/consent-proofs.ts";
import { ExposureCoordinator } from "../src/exposure/coordinator.ts";
import { runExposureQuery, submitExposureRound } from "../src/exposure/query.ts";
import {
  consentProofsInput,
  consentRootInput,
  createTestCore,
  describeEachBackend,
  expectCode,
  onboardTestLender,
  onboardTestMember,
  proveTestConsentBook,
  seasonRegistrations,
  serveExposureTasks,
  storedAuditEvents,
  type TestConsentProofs,
  type TestCore,
  type TestLender,
  testConsentBook,
} from "../src/testing.ts";
import { lenderAnswer, type SimLender } from "./exposure-fixtures.ts";

const START = "2026-12-03T09:30:00.000Z";
/** Registrations count towards k after 24 h: the queries run 25 h after the lenders registered. */
const QUERY_MS = Date.parse(START) + 25 * 3_600_000;
const T = (n: number) => sha256(new TextEncoder().encode(`relink-exposure-zk-subject-${n}`));
const PURPOSE = "credit_assessment";
const PRESET = "bfv-4096-add-v1";

/**
 * The querier's book: subjects 1 and 2 for credit assessment, 3 for fraud prevention only, 4 for contact data
 * only; and a stray one.
 */
const book = testConsentBook(T, PURPOSE, "credit_exposure");
const { tree, stray } = book;

type Lender = SimLender & TestLender & { tasks: number };

let proofs: TestConsentProofs;

beforeAll(async () => {
  proofs = await proveTestConsentBook(book, QUERY_MS);
});

describeEachBackend("exposure queries with consent proofs", ({ db }) => {
  let core: TestCore;
  let querier: AuthenticatedMember;
  let publicKey: string;
  const stop = new AbortController();
  const loops: Promise<void>[] = [];
  const lenders: Lender[] = [];

  function query(
    tags: Uint8Array[],
    items: { root: bigint; proof: Uint8Array }[] | undefined,
    over: Partial<ExposureQueryInput> = {},
  ): ExposureQueryInput {
    return {
      epoch: 1,
      purpose: PURPOSE,
      mode: "subjects",
      tags: tags.map(toBase64Url),
      caseCommitment: toBase64Url(sha256(new TextEncoder().encode("case-exposure-zk"))),
      publicKey,
      ...(items ? { consentProofs: consentProofsInput(QUERY_MS, items) } : {}),
      ...over,
    };
  }

  /** Refused with a denial leaf naming `rule`; no round ran and no budget was spent. */
  async function refused(input: ExposureQueryInput, rule: string): Promise<void> {
    const before = (await storedAuditEvents(db())).length;
    const tasksBefore = lenders.reduce((n, l) => n + l.tasks, 0);
    await expectCode(runExposureQuery(core.deps, querier, input), "NO_CONSENT");
    const leaves = await storedAuditEvents(db());
    expect(leaves).toHaveLength(before + 1);
    expect(leaves.at(-1)!.event).toMatchObject({
      type: "denial",
      decision: "deny",
      member: querier.member.id,
      ruleIds: [rule],
      decisionReason: "NO_CONSENT",
    });
    expect(lenders.reduce((n, l) => n + l.tasks, 0)).toBe(tasksBefore);
  }

  const serve = (lender: Lender) =>
    serveExposureTasks(core, lender.member, stop.signal, async (task) => {
      lender.tasks++;
      await submitExposureRound(core.deps, await lender.member.authenticate(), {
        queryId: task.queryId,
        round: task.round,
        ciphertexts: await lenderAnswer(lender, task),
      });
    });

  beforeAll(async () => {
    core = createTestCore(db(), {
      now: START,
      policy: { exposure: { deadlineMs: { subjects: 30_000, aggregate: 30_000 } } },
    });
    core.deps.exposure = { coordinator: new ExposureCoordinator() };
    const pair = (await loadHe()).context(PRESET).keygen();
    try {
      publicKey = toBase64Url((await loadHe()).context(PRESET).savePublicKey(pair.publicKey));
    } finally {
      pair.dispose();
    }
    const member = await onboardTestMember(core, { slug: "zk-risk-team", capabilities: ["querier"] });
    querier = await member.authenticate();
    // Three lenders hold subjects 1, 2, 3 and 9 (k = 3): a proven query is answered.
    const held = [1, 2, 3, 9].map(T);
    for (const slug of ["zk-lender-a", "zk-lender-b", "zk-lender-c"]) {
      const lender: Lender = {
        ...(await onboardTestLender(core, { slug }, { tags: held })),
        book: new Map(held.map((t, i) => [toHex(t), [1, 1_000_000 + i, 1, 0, 0, 0, 0, 0, 1]])),
        tasks: 0,
      };
      lenders.push(lender);
      loops.push(serve(lender));
    }
    seasonRegistrations(core);
    expect(core.clock().getTime()).toBe(QUERY_MS);
    const committed = await commitConsentRoot(core.deps, querier, consentRootInput(book));
    expect(committed.committed).toBe(true);
  });

  afterAll(async () => {
    stop.abort();
    await Promise.all(loops);
  });

  it("refuses, before any round, a query without proofs once the querier committed a root", async () => {
    await refused(query([T(1)], undefined), "exposure.consent-proof.required");
  });

  it("refuses a proof for another purpose, for a tag not in the tree, and a tampered proof", async () => {
    // Subject 3's consent is for fraud prevention: its valid proof does not cover credit assessment.
    await refused(
      query([T(3)], [{ root: tree.root(), proof: proofs.s3fraud }]),
      "exposure.consent-proof.invalid",
    );
    // Subject 4's consent covers contact data only (ADR 0048): its valid proof does not cover exposure.
    await refused(
      query([T(4)], [{ root: tree.root(), proof: proofs.s4otherCategory }]),
      "exposure.consent-proof.invalid",
    );
    // Subject 9 is not in the tree: subject 1's proof presented for it fails.
    await refused(query([T(9)], [{ root: tree.root(), proof: proofs.s1 }]), "exposure.consent-proof.invalid");
    const flipped = proofs.s1.slice();
    flipped[200]! ^= 1;
    await refused(query([T(1)], [{ root: tree.root(), proof: flipped }]), "exposure.consent-proof.invalid");
    // One bad proof among good ones refuses the whole query.
    await refused(
      query(
        [T(1), T(2)],
        [
          { root: tree.root(), proof: proofs.s1 },
          { root: tree.root(), proof: proofs.s1 },
        ],
      ),
      "exposure.consent-proof.invalid",
    );
  });

  it("refuses a valid proof under a root that was never logged, and a query time outside the skew", async () => {
    await refused(
      query([T(1)], [{ root: stray.root(), proof: proofs.stray1 }]),
      "exposure.consent-proof.root",
    );
    const stale = query([T(1)], [{ root: tree.root(), proof: proofs.s1 }]);
    stale.consentProofs!.queryTime = QUERY_MS - 10 * 60_000;
    await refused(stale, "exposure.consent-proof.time");
    // Malformed proofs are BAD_INPUT naming the row.
    const e = await expectCode(
      runExposureQuery(
        core.deps,
        querier,
        query([T(1)], [{ root: tree.root(), proof: new Uint8Array(256).fill(0xff) }]),
      ),
      "BAD_INPUT",
    );
    expect(e.details).toMatchObject({ row: 1, field: "consentProofs.items.proof" });
    // Nothing was spent by any refused query.
    const used = await exposureBudgetUsed(db(), {
      querierId: querier.member.id,
      tags: [T(1), T(2), T(3), T(9)],
      since: new Date(0),
    });
    expect([...used.values()].reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("answers a proven query, commits to the proofs in its leaf and stores them for offline checks", async () => {
    const r = await runExposureQuery(
      core.deps,
      querier,
      query(
        [T(1), T(2)],
        [
          { root: tree.root(), proof: proofs.s1 },
          { root: tree.root(), proof: proofs.s2 },
        ],
      ),
    );
    expect(r.cached).toBe(false);
    expect(r.subjects.map((s) => s.status)).toEqual(["ok", "ok"]);
    expect(r.responded).toBe(3);
    const v = verifyReceipt(r.receipt, { logKey: core.logVerifierKey });
    if (!v.ok) throw new Error(v.message);
    expect(v.event).toMatchObject({ type: "exposure.query", member: querier.member.id });
    expect(v.event.ruleIds?.[0]).toBe("exposure.consent-proof");
    expect(v.event.consentRefs).toBeUndefined();
    expect(v.event.legalBasis).toBeUndefined();
    const stored = parseBundle(await consentProofBundle(core.deps, querier, BigInt(v.index)));
    expect(stored.purpose).toBe(PURPOSE);
    const check = await verifyBundle(VERIFICATION_KEY, VKEY_HASH, stored);
    expect(check).toMatchObject({ ok: true, roots: [toHex(fieldToBytes(tree.root()))] });
    expect(check.ok && check.commitment).toBe(v.event.consentProofsHash);

    // The identical query within 24 h: the cached answer, with its own leaf and bundle.
    const again = await runExposureQuery(
      core.deps,
      querier,
      query(
        [T(1), T(2)],
        [
          { root: tree.root(), proof: proofs.s1 },
          { root: tree.root(), proof: proofs.s2 },
        ],
      ),
    );
    expect(again.cached).toBe(true);
    const w = verifyReceipt(again.receipt, { logKey: core.logVerifierKey });
    if (!w.ok) throw new Error(w.message);
    expect(w.event.ruleIds?.slice(0, 2)).toEqual(["exposure.consent-proof", "exposure.cached"]);
    const second = parseBundle(await consentProofBundle(core.deps, querier, BigInt(w.index)));
    const check2 = await verifyBundle(VERIFICATION_KEY, VKEY_HASH, second);
    expect(check2.ok && check2.commitment).toBe(w.event.consentProofsHash);
  });
});
