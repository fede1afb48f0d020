import {
  decodeAuditEvent,
  encodeAuditEvent,
  keyedCommitment,
  memberCommitmentKey,
  subjectLinkKey,
} from "@relink/tlog";
import { expect, it } from "vitest";
import { toAuditEvent } from "../src/audit/adapter.ts";

const keying = { commitmentKey: new Uint8Array(32).fill(9), nonce: new Uint8Array(16).fill(4) };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

it("maps the use cases' AuditEventInput to a canonical leaf, committing to tags instead of storing them", () => {
  const tags = Array.from({ length: 70 }, (_, i) => new Uint8Array(32).fill(i));
  const at = new Date("2026-11-26T08:00:00Z");
  const base = {
    memberId: "0B5F2F3E-8C1D-4A7E-9D8E-1F2A3B4C5D6E",
    purpose: "debt_collection",
    legalBasis: "consent,court_order",
    consentIds: ["7d3c1a2b-4e5f-6071-8293-a4b5c6d7e8f9", "not-a-uuid"],
    inputSize: 2,
    outputCount: 3,
    requestHash: new Uint8Array(32).fill(5),
  };
  const lookup = toAuditEvent(
    {
      ...base,
      type: "lookup",
      subjectTags: tags.slice(0, 2),
      decision: { allowed: true, rules: ["lookup.consent", "lookup.partial-consent"] },
    },
    at,
    "0.1.0",
    keying,
  );
  const bytes = encodeAuditEvent(lookup);
  expect(decodeAuditEvent(bytes)).toEqual(lookup);
  // ADR 0040: HMAC under the member's key, salted by the leaf's nonce; the nonce is in the leaf.
  const memberKey = memberCommitmentKey(keying.commitmentKey, base.memberId.toLowerCase());
  expect(lookup.subjectNonce).toBe(hex(keying.nonce));
  expect(lookup.subjectTagCommitments?.[0]).toBe(
    hex(keyedCommitment(subjectLinkKey(memberKey, tags[0]!), keying.nonce)),
  );
  // The same subject under another member's key, or another nonce, gives an unrelated commitment.
  const otherMember = memberCommitmentKey(keying.commitmentKey, "11111111-1111-1111-1111-111111111111");
  expect(lookup.subjectTagCommitments).not.toContain(
    hex(keyedCommitment(subjectLinkKey(otherMember, tags[0]!), keying.nonce)),
  );
  const again = toAuditEvent(
    { ...base, type: "lookup", subjectTags: tags.slice(0, 2), decision: { allowed: true, rules: [] } },
    at,
    "0.1.0",
    { ...keying, nonce: new Uint8Array(16).fill(5) },
  );
  expect(again.subjectTagCommitments?.[0]).not.toBe(lookup.subjectTagCommitments?.[0]);
  // The raw tag never appears in the leaf.
  expect(Buffer.from(bytes).includes(Buffer.from(tags[1]!))).toBe(false);
  const batch = toAuditEvent(
    { ...base, type: "lookup", subjectTags: tags, decision: { allowed: true, rules: [] } },
    at,
    "0.1.0",
    keying,
  );
  expect(batch.subjectTagsRoot?.count).toBe(70);
  expect(batch.subjectTagCommitments).toBeUndefined();
  const denial = toAuditEvent(
    {
      type: "denial",
      memberId: null,
      inputSize: 0,
      outputCount: 0,
      decision: { allowed: false, rules: ["member.active"], reason: "MEMBER_SUSPENDED" },
    },
    at,
    "0.1.0",
    keying,
  );
  expect(denial.subjectNonce).toBeUndefined();
  expect(decodeAuditEvent(encodeAuditEvent(denial))).toMatchObject({
    decision: "deny",
    decisionReason: "MEMBER_SUSPENDED",
  });
});
