/**
 * Abuse controls on both backends, each test performing the attack (issues 15.3, 15.4-extra and 11;
 * docs/threat-model.md T1): consent vetting (capability, signed attestation, implausible and reused
 * evidence, cases spread over many tags, the daily consent quota), fishing detection (bulk
 * consent-then-lookup, low hit rate, lookups without consent) with the sanctions ladder, honeytokens, and
 * the contact opt-out registry with the conduct window carried in results.
 */
import { randomUUID } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type Database,
  findMemberById,
  listAlerts as listAlertRows,
  listConsents,
  quotaUsed,
} from "@relink/db";
import {
  attestConsent,
  CONTACT_CONDUCT,
  type ConsentRecord,
  type DirectoryUpsert,
  type LookupInput,
  toBase64Url,
} from "@relink/protocol";
import { type AuditEvent, verifyReceipt } from "@relink/tlog";
import type { Kysely } from "kysely";
import { beforeAll, expect, it } from "vitest";
import { listAlerts } from "../src/abuse/alerts.ts";
import { optOutRegistry, plantHoneytokens, registerOptOuts } from "../src/abuse/registry.ts";
import type { AuthenticatedMember } from "../src/auth.ts";
import { registerConsents } from "../src/consents.ts";
import { publishBatch } from "../src/directory.ts";
import { lookupContacts } from "../src/lookup.ts";
import {
  attest,
  authenticatedTestMember,
  createTestCore,
  describeEachBackend,
  expectCode,
  onboardTestMember,
  storedAuditEvents,
  type TestCore,
  type TestMember,
} from "../src/testing.ts";

const NOW = "2026-11-26T09:30:00.000Z";
const T = (n: number) => sha256(new TextEncoder().encode(`relink-abuse-subject-${n}`));
const h = (s: string) => toBase64Url(sha256(new TextEncoder().encode(s)));

type Unsigned = Omit<ConsentRecord, "caseCommitment" | "attestation"> & { caseCommitment?: string };

function consent(n: number, over: Partial<Unsigned> = {}): Unsigned {
  return {
    reference: `ref-${n}`,
    tag: toBase64Url(T(n)),
    purpose: "debt_collection",
    legalBasis: "consent",
    dataCategories: ["contact"],
    grantedAt: "2026-01-01T00:00:00Z",
    expiresAt: "2027-01-01T00:00:00Z",
    evidenceHash: h(`evidence-${n}`),
    caseCommitment: h(`case-${n}`),
    ...over,
  };
}

function upsert(n: number, k: number): DirectoryUpsert {
  return {
    tag: toBase64Url(T(n)),
    recordId: toBase64Url(sha256(new TextEncoder().encode(`record-${n}-${k}`)).slice(0, 16)),
    kind: "phone",
    labelVersion: 1,
    valueDigest: h(`value-${n}-${k}`),
    lastSeenOn: "2026-11-01",
    sealed: toBase64Url(new Uint8Array(48).fill(k)),
  };
}

function lookupInput(ns: number[], over: Partial<LookupInput> = {}): LookupInput {
  return {
    epoch: 1,
    purpose: "debt_collection",
    tags: ns.map((n) => toBase64Url(T(n))),
    caseCommitment: h("case-lookup"),
    ...over,
  };
}

async function leavesSince(db: Kysely<Database>, from: number): Promise<AuditEvent[]> {
  return (await storedAuditEvents(db, BigInt(from))).map((l) => l.event);
}

async function logSize(db: Kysely<Database>): Promise<number> {
  return (await storedAuditEvents(db)).length;
}

function receiptIndex(core: TestCore, receipt: unknown): number {
  const v = verifyReceipt(receipt, { logKey: core.logVerifierKey });
  if (!v.ok) throw new Error(`receipt does not verify: ${v.reason}`);
  return (receipt as { index: number }).index;
}

async function publish(core: TestCore, who: AuthenticatedMember, ns: number[]): Promise<void> {
  await publishBatch(core.deps, who, {
    batchId: randomUUID(),
    epoch: 1,
    upserts: ns.map((n) => upsert(n, 1)),
    deletions: [],
  });
}

/** The member registers a signed consent for each subject (consent(n)): the first half of consent-then-lookup. */
async function registerConsentsFor(core: TestCore, who: AuthenticatedMember, ns: number[]) {
  return registerConsents(
    core.deps,
    who,
    attest(
      core,
      who,
      ns.map((n) => consent(n)),
    ),
  );
}

// ----------------------------------------------------------------------------------------- consent vetting

describeEachBackend("consent vetting (issue 15.3: consent is self-declared)", ({ db }) => {
  let core: TestCore;
  let lender: AuthenticatedMember;
  let collector: AuthenticatedMember;
  let other: AuthenticatedMember;

  beforeAll(async () => {
    core = createTestCore(db(), { now: NOW, policy: { abuse: { dailyConsentRegistrations: 60 } } });
    lender = await authenticatedTestMember(core, { slug: "lender-only", capabilities: ["lender"] });
    collector = await authenticatedTestMember(core, {
      slug: "vetted-collector",
      capabilities: ["collector"],
    });
    other = await authenticatedTestMember(core, { slug: "other-collector", capabilities: ["collector"] });
  });

  it("a lender-only member registers no contact consents, a collector no credit-exposure ones", async () => {
    const from = await logSize(db());
    const e = await expectCode(
      registerConsents(core.deps, lender, attest(core, lender, [consent(1)])),
      "FORBIDDEN",
    );
    expect(e.message).toMatch(/'collector' capability/);
    await expectCode(
      registerConsents(
        core.deps,
        collector,
        attest(core, collector, [consent(2, { dataCategories: ["credit_exposure"] })]),
      ),
      "FORBIDDEN",
    );
    expect(await listConsents(db(), lender.member.id)).toEqual([]);
    const leaves = await leavesSince(db(), from);
    expect(leaves.map((l) => [l.type, l.decisionReason, l.ruleIds])).toEqual([
      ["denial", "FORBIDDEN", ["consent.capability"]],
      ["denial", "FORBIDDEN", ["consent.capability"]],
    ]);
  });

  it("evidence that is a hash of nothing is refused with BAD_INPUT naming row and field", async () => {
    const bad: [string, string][] = [
      ["all zero", toBase64Url(new Uint8Array(32))],
      ["the SHA-256 of empty input", toBase64Url(sha256(new Uint8Array()))],
      ["a repetitive pattern", toBase64Url(new Uint8Array(32).fill(0xbb))],
      ["a repetitive pattern", toBase64Url(Uint8Array.from({ length: 32 }, (_, i) => i % 4))],
      ["equal to the subject's tag", toBase64Url(T(3))],
    ];
    for (const [why, evidenceHash] of bad) {
      const from = await logSize(db());
      const records = attest(core, collector, [consent(4), consent(3, { evidenceHash })]);
      const e = await expectCode(registerConsents(core.deps, collector, records), "BAD_INPUT");
      expect(e.message).toContain(why);
      expect(e.details).toEqual({ row: 2, field: "consents.1.evidenceHash" });
      expect((await leavesSince(db(), from)).map((l) => l.ruleIds)).toEqual([["consent.evidence"]]);
    }
    expect(await listConsents(db(), collector.member.id)).toEqual([]);
  });

  it("a record whose attestation is not the member's signature over it is refused", async () => {
    const [signed] = attest(core, collector, [consent(5)]);
    const tampered: [string, ConsentRecord][] = [
      ["purpose changed after signing", { ...signed!, purpose: "legal_claim" }],
      ["expiry extended after signing", { ...signed!, expiresAt: "2030-01-01T00:00:00Z" }],
      ["another case", { ...signed!, caseCommitment: h("case-other") }],
      ["one bit flipped", { ...signed!, attestation: toBase64Url(flip(signed!.attestation)) }],
      // Another member's valid signature over the same record does not speak for this member.
      ["signed by another member", attest(core, other, [consent(5)])[0]!],
      // Signed for another network.
      [
        "signed for another network",
        attestConsent(
          new Uint8Array(32).fill(3),
          { networkId: "relink.other", memberId: collector.member.id },
          {
            ...consent(5),
            caseCommitment: h("case-5"),
          },
        ),
      ],
    ];
    for (const [, record] of tampered) {
      const e = await expectCode(registerConsents(core.deps, collector, [record]), "BAD_INPUT");
      expect(e.details.field).toBe("consents.0.attestation");
    }
    const ok = await registerConsents(core.deps, collector, [signed!]);
    expect(ok.consents).toHaveLength(1);
    const stored = await db()
      .selectFrom("consent_attestation")
      .selectAll()
      .where("consent_id", "=", ok.consents[0]!.id)
      .executeTakeFirstOrThrow();
    expect(toBase64Url(stored.signature)).toBe(signed!.attestation);
    expect(toBase64Url(stored.case_commitment)).toBe(h("case-5"));
  });

  it("one evidence document, one case: reuse for another debtor is refused, also across batches", async () => {
    // The SDK's shape: one debtor (case) with three identifiers, one evidence document — accepted.
    const same = { evidenceHash: h("evidence-debtor-6"), caseCommitment: h("case-debtor-6") };
    const ok = await registerConsents(
      core.deps,
      collector,
      attest(
        core,
        collector,
        [6, 7, 8].map((n) => consent(n, same)),
      ),
    );
    expect(ok.consents).toHaveLength(3);
    // The same document for another case: refused within a batch …
    const within = await expectCode(
      registerConsents(
        core.deps,
        collector,
        attest(core, collector, [
          consent(9, { evidenceHash: h("evidence-9") }),
          consent(10, { evidenceHash: h("evidence-9") }),
        ]),
      ),
      "BAD_INPUT",
    );
    expect(within.details.field).toBe("consents.1.evidenceHash");
    // … and across batches.
    const across = await expectCode(
      registerConsents(
        core.deps,
        collector,
        attest(core, collector, [consent(11, { evidenceHash: h("evidence-debtor-6") })]),
      ),
      "BAD_INPUT",
    );
    expect(across.message).toMatch(/already attested for another case/);
  });

  it("one case covers at most 8 subject tags (a person has a handful of identifiers)", async () => {
    const shared = { caseCommitment: h("case-fishing"), evidenceHash: h("evidence-fishing") };
    const e = await expectCode(
      registerConsents(
        core.deps,
        collector,
        attest(
          core,
          collector,
          Array.from({ length: 9 }, (_, i) => consent(100 + i, shared)),
        ),
      ),
      "BAD_INPUT",
    );
    expect(e.details).toEqual({ row: 9, field: "consents.8.caseCommitment" });
  });

  it("the daily consent quota stops bulk self-registration, with a retry-after", async () => {
    const used = await quotaUsed(db(), collector.member.id, "2026-11-26", "consent");
    const fits = 60 - Number(used);
    const many = (from: number, n: number) =>
      attest(
        core,
        collector,
        Array.from({ length: n }, (_, i) => consent(from + i)),
      );
    const e = await expectCode(registerConsents(core.deps, collector, many(200, fits + 1)), "QUOTA_EXCEEDED");
    expect(e.details.retryAfterSeconds).toBe(14 * 3600 + 30 * 60);
    expect((await registerConsents(core.deps, collector, many(300, fits))).consents).toHaveLength(fits);
    await expectCode(registerConsents(core.deps, collector, many(400, 1)), "QUOTA_EXCEEDED");
  });
});

function flip(text: string): Uint8Array {
  const b = Uint8Array.from(Buffer.from(text, "base64url"));
  b[10]! ^= 1;
  return b;
}

// ------------------------------------------------------------------------------- fishing and the ladder

describeEachBackend("fishing detection and the sanctions ladder (issues 15.3, 11)", ({ db }) => {
  let core: TestCore;
  let publisher: AuthenticatedMember;
  let fisher: AuthenticatedMember;
  let fisherMember: TestMember;
  let honest: AuthenticatedMember;

  beforeAll(async () => {
    core = createTestCore(db(), {
      now: NOW,
      policy: {
        abuse: {
          freshConsentLookupsAlert: 20,
          unconsentedLookupsAlert: 30,
          hitRate: { minLookups: 40, below: 0.1 },
          volume: { floor: 1000, multiplier: 5, days: 30 },
        },
      },
    });
    publisher = await authenticatedTestMember(core, { slug: "publisher", capabilities: ["lender"] });
    fisherMember = await onboardTestMember(core, { slug: "fishing-collector", capabilities: ["collector"] });
    fisher = await fisherMember.authenticate();
    honest = await authenticatedTestMember(core, { slug: "honest-collector", capabilities: ["collector"] });
    // The network holds records for subjects 1000 and 2000..2009 only.
    await publish(core, publisher, [1000, ...Array.from({ length: 10 }, (_, i) => 2000 + i)]);
  });

  it("an honest collector (consents of long standing, good hit rate) raises nothing", async () => {
    const ns = Array.from({ length: 10 }, (_, i) => 2000 + i);
    await registerConsentsFor(core, honest, ns);
    core.clock.advance(3 * 86_400_000);
    const r = await lookupContacts(core.deps, honest, lookupInput(ns));
    expect(r.results.every((x) => x.records.length === 1)).toBe(true);
    expect(await listAlertRows(db(), { limit: 10 })).toEqual([]);
  });

  it("bulk consent-then-lookup of guessed identifiers: alerts with the receipt, then warn, throttle, suspend", async () => {
    // The attack: tag a block of guessed identifiers, self-register (signed, plausible-looking) consents,
    // look them all up at once. One in 40 is a real person.
    const guessed = Array.from({ length: 40 }, (_, i) => 1000 + i);
    await registerConsentsFor(core, fisher, guessed);
    const from = await logSize(db());
    const r = await lookupContacts(core.deps, fisher, lookupInput(guessed));
    expect(r.results.filter((x) => x.records.length > 0)).toHaveLength(1);
    const lookupLeaf = receiptIndex(core, r.receipt);

    const alerts = await listAlertRows(db(), { memberId: fisher.member.id, limit: 10 });
    expect(alerts.map((a) => [a.kind, a.severity]).sort()).toEqual([
      ["consent.bulk_then_lookup", "medium"],
      ["lookup.low_hit_rate", "medium"],
    ]);
    for (const a of alerts) expect(Number(a.relatedLeaf)).toBe(lookupLeaf);
    expect(alerts.find((a) => a.kind === "consent.bulk_then_lookup")!.detail).toMatchObject({
      freshConsentLookupsToday: 40,
      lookupLeaf,
    });
    // Each alert and each sanction step is a leaf. Bulk consent-then-lookup alone is advisory (a new batch
    // of debtors looks the same); the low hit rate moves the ladder: a warning.
    const leaves = await leavesSince(db(), from);
    const alertLeaves = leaves.filter((l) => l.type === "alert.raised");
    expect(alertLeaves).toHaveLength(2);
    expect(alertLeaves.every((l) => l.ruleIds?.includes(`alert.leaf:${lookupLeaf}`))).toBe(true);
    expect(leaves.filter((l) => l.type === "sanction.applied").map((l) => l.ruleIds?.[0])).toEqual([
      "sanction.warn",
    ]);

    // It goes on asking without consent: throttled, its lookup quota a tenth (10,000 → 1,000 a day).
    const unconsented = Array.from({ length: 30 }, (_, i) => 5000 + i);
    await lookupContacts(core.deps, fisher, lookupInput(unconsented));
    const q = await expectCode(
      lookupContacts(core.deps, fisher, lookupInput(Array.from({ length: 931 }, (_, i) => 6000 + i))),
      "QUOTA_EXCEEDED",
    );
    expect(q.message).toMatch(/quota of 1000/);

    // The next day, another block: a second low hit rate suspends it.
    core.clock.advance(86_400_000);
    const more = Array.from({ length: 40 }, (_, i) => 3000 + i);
    await registerConsentsFor(core, fisher, more);
    await lookupContacts(core.deps, fisher, lookupInput(more));
    expect((await findMemberById(db(), fisher.member.id))!.status).toBe("suspended");
    // Its next request (authenticated afresh, as every request is) is refused.
    await expectCode(
      lookupContacts(core.deps, await fisherMember.authenticate(), lookupInput([1000])),
      "MEMBER_SUSPENDED",
    );

    // The network admin's view names the member, the kinds, the receipts and the steps.
    const view = await listAlerts(core.deps, {});
    expect(
      view.alerts
        .filter((a) => a.memberSlug === "fishing-collector")
        .map((a) => a.kind)
        .sort(),
    ).toEqual([
      "consent.bulk_then_lookup",
      "consent.bulk_then_lookup",
      "lookup.low_hit_rate",
      "lookup.low_hit_rate",
      "lookup.without_consent",
    ]);
    expect(view.sanctions.filter((s) => s.memberSlug === "fishing-collector").map((s) => s.step)).toEqual([
      "warn",
      "throttle",
      "suspend",
    ]);
    expect(view.alerts.some((a) => a.memberSlug !== "fishing-collector")).toBe(false);
  });
});

// ------------------------------------------------------------------------------------------ honeytokens

describeEachBackend("honeytokens (issue 11)", ({ db }) => {
  let core: TestCore;
  let network: AuthenticatedMember;
  let fisher: AuthenticatedMember;
  let prober: AuthenticatedMember;

  beforeAll(async () => {
    core = createTestCore(db(), { now: NOW });
    // The network's own member publishes the synthetic identity's sealed labels like any publisher.
    network = await authenticatedTestMember(core, { slug: "relink-network", capabilities: ["lender"] });
    fisher = await authenticatedTestMember(core, { slug: "honey-fisher", capabilities: ["collector"] });
    prober = await authenticatedTestMember(core, { slug: "honey-prober", capabilities: ["collector"] });
    await publish(core, network, [7777]);
  });

  it("plants a honeytoken with a leaf that holds a count, never the tag or a commitment to it", async () => {
    const from = await logSize(db());
    const r = await plantHoneytokens(core.deps, {
      epoch: 1,
      tags: [toBase64Url(T(7777))],
      note: "synthetic #1",
    });
    expect(r.planted).toBe(1);
    const [leaf] = await leavesSince(db(), from);
    expect(leaf).toMatchObject({ type: "honeytoken.planted", inputSize: 1, outputCount: 1 });
    expect(leaf!.subjectTagCommitments).toBeUndefined();
    expect(leaf!.subjectTagsRoot).toBeUndefined();
  });

  it("a lookup of the honeytoken answers as usual and alerts the network admin with the member and receipt", async () => {
    await registerConsentsFor(core, fisher, [7777]);
    const r = await lookupContacts(core.deps, fisher, lookupInput([7777, 1]));
    // Not tipped off: the records come back like any other.
    expect(r.results[0]!.records).toHaveLength(1);
    const leaf = receiptIndex(core, r.receipt);
    const view = await listAlerts(core.deps, {});
    const alert = view.alerts.find((a) => a.kind === "honeytoken.lookup")!;
    expect(alert).toMatchObject({ memberSlug: "honey-fisher", severity: "high", relatedLeaf: BigInt(leaf) });
    // High severity: straight to suspension, logged as a leaf.
    expect(view.sanctions.map((s) => [s.memberSlug, s.step])).toEqual([["honey-fisher", "suspend"]]);
    expect((await findMemberById(db(), fisher.member.id))!.status).toBe("suspended");
    expect(
      core.logLines.some((l) => l.event === "abuse.alert" && l.fields["kind"] === "honeytoken.lookup"),
    ).toBe(true);
  });

  it("asking for it without consent is alerted too", async () => {
    const r = await lookupContacts(core.deps, prober, lookupInput([7777]));
    expect(r.results[0]!.status).toBe("no_consent");
    const alerts = await listAlertRows(db(), { memberId: prober.member.id, limit: 10 });
    expect(alerts.map((a) => a.kind)).toEqual(["honeytoken.lookup"]);
    expect(Number(alerts[0]!.relatedLeaf)).toBe(receiptIndex(core, r.receipt));
  });
});

// ------------------------------------------------------------------------------------------------ opt-out

describeEachBackend("contact opt-out registry and conduct window (issue 11)", ({ db }) => {
  let core: TestCore;
  let publisher: AuthenticatedMember;
  let collector: AuthenticatedMember;

  beforeAll(async () => {
    core = createTestCore(db(), { now: NOW });
    publisher = await authenticatedTestMember(core, { slug: "optout-publisher", capabilities: ["lender"] });
    collector = await authenticatedTestMember(core, {
      slug: "optout-collector",
      capabilities: ["collector"],
    });
    await publish(core, publisher, [1, 2]);
    await registerConsentsFor(core, collector, [1, 2, 3]);
  });

  it("every result carries the no-contact window (22:00–08:00 UTC+8, GB/T 45251)", async () => {
    const r = await lookupContacts(core.deps, collector, lookupInput([1]));
    expect(r.conduct).toEqual(CONTACT_CONDUCT);
    expect(r.conduct).toMatchObject({ utcOffset: "+08:00", noContactFrom: "22:00", noContactUntil: "08:00" });
  });

  it("an opted-out subject gets no records, indistinguishable to the querier from a subject nobody holds", async () => {
    const before = await lookupContacts(core.deps, collector, lookupInput([1, 2]));
    expect(before.results.map((x) => x.records.length)).toEqual([1, 1]);
    const from = await logSize(db());
    const r = await registerOptOuts(core.deps, {
      epoch: 1,
      tags: [toBase64Url(T(1))],
      requestReference: "DPO-2026-0042",
    });
    expect(r.registered).toBe(1);
    const [leaf] = await leavesSince(db(), from);
    expect(leaf).toMatchObject({ type: "optout.registered", inputSize: 1, outputCount: 1 });
    expect(leaf!.subjectTagCommitments).toBeUndefined();

    const lines = core.logLines.length;
    const optedOut = await lookupContacts(core.deps, collector, lookupInput([1]));
    const nobody = await lookupContacts(core.deps, collector, lookupInput([3]));
    expect(optedOut.results[0]).toEqual({ tag: toBase64Url(T(1)), status: "ok", records: [] });
    expect(nobody.results[0]).toEqual({ tag: toBase64Url(T(3)), status: "ok", records: [] });
    // The receipts the querier gets differ only in time-independent commitments: same rules, same counts.
    const a = verifyReceipt(optedOut.receipt, { logKey: core.logVerifierKey });
    const b = verifyReceipt(nobody.receipt, { logKey: core.logVerifierKey });
    if (!a.ok || !b.ok) throw new Error("receipts must verify");
    expect([a.event.ruleIds, a.event.outputCount, a.event.decision]).toEqual([
      b.event.ruleIds,
      b.event.outputCount,
      b.event.decision,
    ]);
    // The distinct reason is kept at the hub: a log line and a per-member counter, not in the querier's leaf.
    expect(core.logLines.slice(lines).filter((l) => l.event === "lookup.opted_out")).toEqual([
      {
        level: "info",
        event: "lookup.opted_out",
        fields: { member: "optout-collector", count: 1, leaf: String(receiptIndex(core, optedOut.receipt)) },
      },
    ]);
    expect(await quotaUsed(db(), collector.member.id, "2026-11-26", "lookup_opted_out")).toBe(1n);
    // The other subject is unaffected.
    const other = await lookupContacts(core.deps, collector, lookupInput([2]));
    expect(other.results[0]!.records).toHaveLength(1);
  });

  it("the registry lists registrations with counts only; a tag registered twice counts once", async () => {
    await registerOptOuts(core.deps, {
      epoch: 1,
      tags: [toBase64Url(T(1)), toBase64Url(T(4)), toBase64Url(T(5))],
      requestReference: "DPO-2026-0043",
    });
    const r = await optOutRegistry(core.deps);
    expect(r.total).toBe(3);
    expect(r.registrations.map((x) => [x.requestReference, x.tags]).sort()).toEqual([
      ["DPO-2026-0042", 1],
      ["DPO-2026-0043", 2],
    ]);
    expect(JSON.stringify(r)).not.toContain(toBase64Url(T(4)));
  });
});
