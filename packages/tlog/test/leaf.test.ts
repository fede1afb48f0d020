import { describe, expect, it } from "vitest";
import {
  type AuditEvent,
  batchRoot,
  decodeAuditEvent,
  encodeAuditEvent,
  LeafError,
  subjectTagsRoot,
} from "../src/leaf.ts";
import golden from "./golden/leaf-lookup-v1.json" with { type: "json" };
import { fromHex, h32, sampleEvent, toHex } from "./helpers.ts";

describe("audit leaf encoding", () => {
  it("round-trips and matches the golden bytes (our own output, kept to catch accidental format changes)", () => {
    const bytes = encodeAuditEvent(sampleEvent);
    expect(decodeAuditEvent(bytes)).toEqual(sampleEvent);
    expect(toHex(bytes)).toBe(golden.hex);
  });

  it("is canonical: field order in the input does not matter, and the decoder refuses any other encoding", () => {
    const reversed = Object.fromEntries(Object.entries(sampleEvent).reverse()) as unknown as AuditEvent;
    expect(encodeAuditEvent(reversed)).toEqual(encodeAuditEvent(sampleEvent));
    const bytes = encodeAuditEvent(sampleEvent);
    expect(() => decodeAuditEvent(new Uint8Array([...bytes, 0]))).toThrow(LeafError); // trailing garbage
    expect(() => decodeAuditEvent(bytes.slice(0, -1))).toThrow(LeafError); // truncated
    const v2 = bytes.slice();
    v2[4] = 2;
    expect(() => decodeAuditEvent(v2)).toThrow(/version/);
  });

  it("keeps unknown non-critical fields and rejects unknown critical ones (forward compatibility)", () => {
    const base = encodeAuditEvent({ type: "denial", time: 1 });
    const withField = (tag: number) => new Uint8Array([...base, tag >> 8, tag & 255, 0, 2, 0xab, 0xcd]);
    const decoded = decodeAuditEvent(withField(0x0123));
    expect(decoded.unknownFields).toEqual([{ tag: 0x0123, value: "abcd" }]);
    expect(encodeAuditEvent(decoded)).toEqual(withField(0x0123));
    expect(() => decodeAuditEvent(withField(0x8123))).toThrow(/critical/);
  });

  it("decodes event types it does not know, so later types never break old verifiers", () => {
    const bytes = encodeAuditEvent({ type: "lookup", time: 1 });
    bytes[5] = 0x01;
    bytes[6] = 0x00;
    expect(decodeAuditEvent(bytes).type).toBe("0x0100");
  });

  it("takes hex fields in lower case only, whole bytes, and round-trips every byte value", () => {
    const all = Array.from({ length: 32 }, (_, i) => (i * 8 + 7).toString(16).padStart(2, "0")).join("");
    const e = { ...sampleEvent, requestHash: all };
    expect(decodeAuditEvent(encodeAuditEvent(e)).requestHash).toBe(all);
    for (const bad of [
      all.toUpperCase(),
      `${all.slice(0, -1)}g`,
      `${all.slice(0, -2)}0`,
      all.slice(0, -1),
      "",
    ]) {
      expect(() => encodeAuditEvent({ ...sampleEvent, requestHash: bad })).toThrow(LeafError);
    }
    expect(() => encodeAuditEvent({ ...sampleEvent, type: "toString" as never })).toThrow(LeafError);
  });

  it("refuses values that could carry personal data or free text", () => {
    expect(() => encodeAuditEvent({ ...sampleEvent, purpose: "Zhang San 13800138000" })).toThrow(LeafError);
    expect(() => encodeAuditEvent({ ...sampleEvent, userPseudonym: "alice@example.com" })).toThrow(LeafError);
    expect(() => encodeAuditEvent({ ...sampleEvent, ruleIds: [] })).toThrow(LeafError);
    expect(() => encodeAuditEvent({ ...sampleEvent, inputSize: -1 })).toThrow(LeafError);
  });

  it("commits to large batches with a Merkle root", () => {
    const root = subjectTagsRoot([fromHex(h32(3)), fromHex(h32(4))]);
    expect(root.count).toBe(2);
    const e = { ...sampleEvent, subjectTagCommitments: undefined, subjectTagsRoot: root };
    delete e.subjectTagCommitments;
    expect(decodeAuditEvent(encodeAuditEvent(e))).toEqual(e);
  });

  it("commits to large consent sets with a Merkle root, and refuses a zero count", () => {
    const refs = Array.from({ length: 100 }, (_, i) => fromHex(h32(i % 200)).slice(0, 16));
    const root = batchRoot(refs);
    const e = { ...sampleEvent, consentRefs: undefined, consentRefsRoot: root };
    delete e.consentRefs;
    expect(decodeAuditEvent(encodeAuditEvent(e))).toEqual(e);
    expect(() => encodeAuditEvent({ ...e, consentRefsRoot: { root: root.root, count: 0 } })).toThrow(
      LeafError,
    );
  });
});
