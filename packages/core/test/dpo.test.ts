/**
 * DPO use cases on both backends with the real audit log (ADRs 0040–0042): subject access reports (a member
 * DPO sees its own member's entries, the network DPO every member's, each entry verifiable offline, and a
 * forged or altered entry fails loudly), consent replay (covered at query time, revoked later, registered
 * later) and the export slice, plus who may call them.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type LookupInput, type SubjectReport, toBase64Url } from "@relink/protocol";
import {
  base64Decode,
  base64Encode,
  hashLeaf,
  openCheckpoint,
  parseVerifierKey,
  verifyInclusion,
  verifySubjectReport,
} from "@relink/tlog";
import { beforeAll, expect, it } from "vitest";
import type { AuthenticatedMember } from "../src/auth.ts";
import { registerConsents, revokeConsentsByReference } from "../src/consents.ts";
import { authenticateDpoRequest, type DpoPrincipal } from "../src/dpo/access.ts";
import { replayConsent } from "../src/dpo/consent-replay.ts";
import { exportLedgerSlice } from "../src/dpo/export-slice.ts";
import { registerDpoKey } from "../src/dpo/keys.ts";
import { subjectAccessReport } from "../src/dpo/subject-report.ts";
import { lookupContacts } from "../src/lookup.ts";
import {
  attest,
  createTestCore,
  describeEachBackend,
  expectCode,
  onboardTestMember,
  seededBytes,
  signRequest,
  type TestCore,
  testConsent,
  testLookup,
  type UnsignedTestConsent,
  unverifiedRequest,
} from "../src/testing.ts";

const T = (n: number) => sha256(new TextEncoder().encode(`relink-dpo-subject-${n}`));

/** Consents of this file expire mid-2027. */
const consent = (tag: Uint8Array, reference: string, over: Partial<UnsignedTestConsent> = {}) =>
  testConsent(tag, reference, { expiresAt: "2027-06-01T00:00:00Z", ...over });

const lookupInput = (tags: Uint8Array[], over: Partial<LookupInput> = {}) =>
  testLookup(tags, "case-dpo", over);

describeEachBackend("DPO: subject access, consent replay, export", ({ db }) => {
  let core: TestCore;
  let a: AuthenticatedMember;
  let b: AuthenticatedMember;
  const dpoSecret = { a: seededBytes(8101)(32), network: seededBytes(8102)(32) };
  const networkDpoKeys = [ed25519.getPublicKey(dpoSecret.network)];
  let lookupA = 0n;
  let lookupB = 0n;

  /** Authenticates a fresh request signed with `secret` as a DPO (member or network). */
  const dpo = (secret: Uint8Array): Promise<DpoPrincipal> =>
    authenticateDpoRequest(
      core.deps,
      unverifiedRequest(
        signRequest(secret, {
          method: "POST",
          path: "/trpc/dpo.subjectReport",
          body: "{}",
          timestampMs: core.clock().getTime(),
        }),
      ),
      networkDpoKeys,
    );
  const trust = () => ({ logKey: core.logVerifierKey, witnesses: [], k: 0 });

  beforeAll(async () => {
    core = createTestCore(db(), { now: "2026-11-26T09:00:00.000Z" });
    a = await (await onboardTestMember(core, { slug: "bank-a" })).authenticate();
    b = await (await onboardTestMember(core, { slug: "agency-b" })).authenticate();
    await registerDpoKey(core.deps, "bank-a", toBase64Url(ed25519.getPublicKey(dpoSecret.a)));
    await registerConsents(
      core.deps,
      a,
      attest(core, a, [consent(T(1), "loan-1#1"), consent(T(2), "loan-2#1")]),
    );
    core.clock.advance(3_600_000);
    const r = await lookupContacts(core.deps, a, lookupInput([T(1), T(2), T(3)]));
    lookupA = BigInt((r.receipt as { index: number }).index);
    // Agency B: its own consent for subject 1 and a large batch (committed by a root) containing it.
    await registerConsents(core.deps, b, attest(core, b, [consent(T(1), "B-77#1")]));
    const batch = Array.from({ length: 70 }, (_, i) => T(100 + i));
    batch.splice(5, 0, T(1));
    const rb = await lookupContacts(core.deps, b, lookupInput(batch));
    lookupB = BigInt((rb.receipt as { index: number }).index);
    core.clock.advance(3_600_000);
    // After the query: bank A revokes subject 1's consent and registers one for subject 3.
    await revokeConsentsByReference(core.deps, a, ["loan-1#1"]);
    await registerConsents(core.deps, a, attest(core, a, [consent(T(3), "loan-3#1")]));
    // … and updates LN-2 to another legal basis (the version in force at the query is kept).
    await registerConsents(
      core.deps,
      a,
      attest(core, a, [consent(T(2), "loan-2#1", { legalBasis: "contract_performance" })]),
    );
  });

  it("a member DPO's report lists its own member's entries about the subject, each verifiable offline", async () => {
    const report = await subjectAccessReport(core.deps, await dpo(dpoSecret.a), {
      tags: [T(1)],
      requestReference: "SAR-2026-0042",
    });
    expect(report.scope).toEqual({ kind: "member", slug: "bank-a" });
    expect(report.entries.map((e) => e.event)).toEqual(["consent.registered", "lookup", "consent.revoked"]);
    for (const e of report.entries) expect(e.member?.slug).toBe("bank-a");
    const lookup = report.entries.find((e) => e.event === "lookup")!;
    expect(lookup).toMatchObject({
      index: Number(lookupA),
      timeUtc8: "2026-11-26 18:00:00 UTC+8",
      purpose: "debt_collection",
      legalBasis: "consent",
      decision: "allow",
    });
    // The consent as the member wrote it, and only this subject's (not subject 2's, same leaf).
    expect(lookup.consents.map((c) => c.reference)).toEqual(["loan-1#1"]);
    expect(lookup.consents[0]!.revokedAt).toBe("2026-11-26T11:00:00.000Z");
    const v = verifySubjectReport(report, {
      ...trust(),
      tags: [T(1)],
      memberKey: { memberId: a.member.id, key: core.deps.audit.memberKey(a.member.id) },
    });
    expect(v).toEqual({ ok: true, entries: 3 });
    // The report is itself a leaf, and a later report shows it.
    const again = await subjectAccessReport(core.deps, await dpo(dpoSecret.a), {
      tags: [T(1)],
      requestReference: "SAR-2026-0042",
    });
    expect(again.entries.map((e) => e.event)).toContain("dpo.subject_report");
  });

  it("the network DPO with the subject's request sees every member's entries, batches included", async () => {
    const report = await subjectAccessReport(core.deps, await dpo(dpoSecret.network), {
      tags: [T(1), T(2)],
      requestReference: "SAR-2026-0043",
    });
    const bLookup = report.entries.find((e) => e.index === Number(lookupB))!;
    expect(bLookup.member?.slug).toBe("agency-b");
    expect(bLookup.subject.position).toBe(5);
    expect(bLookup.subject.batchPath?.length).toBeGreaterThan(0);
    expect(bLookup.consents.map((c) => [c.reference, c.listed])).toEqual([["B-77#1", "leaf"]]);
    // Subject 2 (tag index 1) appears only where it was concerned.
    expect(report.entries.filter((e) => e.subject.tagIndex === 1).map((e) => e.event)).toEqual([
      "consent.registered",
      "lookup",
      "consent.registered", // the later update
    ]);
    expect(verifySubjectReport(report, trust())).toEqual({ ok: true, entries: report.entries.length });
  });

  it("a forged or altered report entry fails loudly, naming the entry", async () => {
    const report = await subjectAccessReport(core.deps, await dpo(dpoSecret.a), {
      tags: [T(1)],
      requestReference: "SAR-2026-0044",
    });
    const t = {
      ...trust(),
      tags: [T(1)],
      memberKey: { memberId: a.member.id, key: core.deps.audit.memberKey(a.member.id) },
    };
    const copy = () => JSON.parse(JSON.stringify(report)) as SubjectReport;
    const problems = (r: SubjectReport) => {
      const v = verifySubjectReport(r, t);
      expect(v.ok).toBe(false);
      return v.ok ? [] : v.problems.map((p) => `${p.entry}: ${p.reason}`);
    };
    const i = report.entries.findIndex((e) => e.event === "lookup");
    const at = report.entries[i]!.index;

    const purpose = copy();
    purpose.entries[i]!.purpose = "legal_claim";
    expect(problems(purpose)).toEqual([
      expect.stringMatching(new RegExp(`^${at}: purpose differs from the leaf`)),
    ]);

    const time = copy();
    time.entries[i]!.timeUtc8 = "2026-11-26 09:00:00 UTC+8";
    expect(problems(time)[0]).toMatch(/timeUtc8 differs from the leaf/);

    const leaf = copy();
    const receipt = leaf.entries[i]!.receipt as { leaf: string };
    const bytes = base64Decode(receipt.leaf)!;
    bytes[bytes.length - 1]! ^= 1;
    receipt.leaf = base64Encode(bytes);
    expect(problems(leaf)[0]).toMatch(/receipt REJECTED: (inclusion_proof_invalid|malformed_leaf)/);

    // Another subject's leaf passed off as this one's: the evidence does not open it.
    const forged = copy();
    const other = await lookupContacts(core.deps, a, lookupInput([T(2)]));
    forged.entries.push({
      ...forged.entries[i]!,
      index: (other.receipt as { index: number }).index,
      receipt: other.receipt,
    });
    expect(problems(forged).join("\n")).toMatch(/subject evidence REJECTED/);

    // A link key for subject 2 (also in that lookup leaf) presented as subject 1's.
    const swapped = copy();
    swapped.entries[i]!.subject.linkKey = Buffer.from(core.deps.audit.linkKey(a.member.id, T(2))).toString(
      "hex",
    );
    swapped.entries[i]!.subject.position = 1;
    expect(problems(swapped).join("\n")).toMatch(/another link key|not the subject's under the member's/);

    const reportLeaf = copy();
    (reportLeaf.reportReceipt as { index: number }).index += 1;
    expect(problems(reportLeaf).join("\n")).toMatch(/^report: report receipt REJECTED/m);
  });

  it("authorises by DPO key: request-signing keys are refused, a member DPO never reaches another member", async () => {
    const memberKeySecret = seededBytes(8200)(32);
    await expectCode(dpo(memberKeySecret), "UNKNOWN_KEY");
    const dpoA = await dpo(dpoSecret.a);
    await expectCode(replayConsent(core.deps, dpoA, lookupB), "NOT_FOUND");
    await expectCode(replayConsent(core.deps, dpoA, 999_999n), "NOT_FOUND");
    // Leaf 0 is bank A's onboarding: its own, but not a query.
    await expectCode(replayConsent(core.deps, dpoA, 0n), "BAD_INPUT");
  });

  it("consent replay: covered at query time even if revoked later; a consent registered later never covers", async () => {
    const replay = await replayConsent(core.deps, await dpo(dpoSecret.a), lookupA);
    expect(replay).toMatchObject({
      event: "lookup",
      timeUtc8: "2026-11-26 18:00:00 UTC+8",
      member: { slug: "bank-a" },
      purpose: "debt_collection",
      subjects: 3,
      covered: 2,
      consistentWithLeaf: true,
    });
    const byRef = Object.fromEntries(replay.consents.map((c) => [c.reference, c]));
    expect(byRef["loan-1#1"]).toMatchObject({
      position: 0,
      coveredAtQueryTime: true,
      reasons: [],
      listedInLeaf: true,
      revokedAt: "2026-11-26T11:00:00.000Z",
    });
    // Updated after the query: judged in the version in force then (revision 1, legal basis consent).
    expect(byRef["loan-2#1"]).toMatchObject({
      position: 1,
      revision: 1,
      legalBasis: "consent",
      coveredAtQueryTime: true,
      listedInLeaf: true,
    });
    expect(byRef["loan-3#1"]).toMatchObject({
      position: 2,
      coveredAtQueryTime: false,
      reasons: ["registered_after"],
      listedInLeaf: false,
    });
    // Replayed now instead of at the query's time, the revoked consent would not cover: the replay is
    // about the past. The receipt proves the leaf it judged.
    const { verifyReceipt } = await import("@relink/tlog");
    expect(verifyReceipt(replay.receipt, trust()).ok).toBe(true);
    // The network DPO can replay any member's query; a batch query is judged the same way.
    const rb = await replayConsent(core.deps, await dpo(dpoSecret.network), lookupB);
    expect(rb).toMatchObject({ subjects: 71, covered: 1, consistentWithLeaf: true });
    expect(rb.consents[0]).toMatchObject({ reference: "B-77#1", position: 5, coveredAtQueryTime: true });
  });

  it("exports a member's ledger slice with inclusion proofs against a signed checkpoint", async () => {
    const slice = await exportLedgerSlice(core.deps, await dpo(dpoSecret.a), {
      from: 0,
      pipiaReference: "PIPIA-2026-07",
    });
    const logKey = parseVerifierKey(core.logVerifierKey);
    const cp = openCheckpoint(slice.checkpoint, logKey).checkpoint;
    expect(Number(cp.size)).toBe(slice.to);
    expect(slice.leaves.length).toBeGreaterThan(3);
    for (const l of slice.leaves) {
      const ok = verifyInclusion(
        BigInt(l.index),
        cp.size,
        hashLeaf(base64Decode(l.leaf)!),
        l.inclusionProof.map((h) => base64Decode(h)!),
        cp.root,
      );
      expect(ok, `leaf ${l.index}`).toBe(true);
      expect(l.index).not.toBe(Number(lookupB));
    }
    expect(slice.members.map((m) => m.slug)).toEqual(["bank-a"]);
    expect(slice.consents.map((c) => c.reference).sort()).toEqual(["loan-1#1", "loan-2#1", "loan-3#1"]);
    // Leaf 1 (an onboarding) got no receipt, so no checkpoint has size 2; an empty range is refused.
    for (const range of [
      { from: 0, to: 2 },
      { from: slice.to, to: slice.to },
    ]) {
      await expectCode(
        exportLedgerSlice(core.deps, await dpo(dpoSecret.a), { ...range, pipiaReference: "x" }),
        "BAD_INPUT",
      );
    }
  });
});
