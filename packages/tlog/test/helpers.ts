import { base64Decode } from "../src/bytes.ts";
import type { AuditEvent } from "../src/leaf.ts";

export function b64(s: string): Uint8Array {
  const out = base64Decode(s);
  if (!out) throw new Error(`bad base64 in test data: ${s}`);
  return out;
}

export function fromHex(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Deterministic bytes for replayable keys (never use outside tests). */
export function seeded(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) =>
    Uint8Array.from({ length: n }, () => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x & 255;
    });
}

export const h32 = (b: number): string => toHex(new Uint8Array(32).fill(b));

export const sampleEvent: AuditEvent = {
  type: "lookup",
  time: Date.UTC(2026, 10, 26, 8, 0, 0),
  member: "0b5f2f3e-8c1d-4a7e-9d8e-1f2a3b4c5d6e",
  userPseudonym: h32(1),
  purpose: "debt_collection",
  legalBasis: "consent",
  caseCommitment: h32(2),
  subjectTagCommitments: [h32(3), h32(4)],
  consentRefs: ["7d3c1a2b4e5f60718293a4b5c6d7e8f9"],
  inputSize: 2,
  outputCount: 5,
  decision: "allow",
  ruleIds: ["lookup.consent"],
  requestHash: h32(5),
  responseHash: h32(6),
  softwareVersion: "0.1.0",
};
