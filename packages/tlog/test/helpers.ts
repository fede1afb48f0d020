import { createHmacDrbg } from "@noble/curves/utils.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
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

const hmacSha256 = (key: Uint8Array, message: Uint8Array) => hmac(sha256, key, message);

/**
 * Deterministic bytes for replayable keys (never use outside tests): the same wrapper of noble's HMAC-DRBG
 * as `seededRng` of @relink/psi/testing, which this crypto leaf may not import (ADR 0067).
 */
export function seeded(seed: number | string): (n: number) => Uint8Array {
  const base = new TextEncoder().encode(`relink/test-rng/${seed}/`);
  let request = 0;
  return (n) => {
    const material = new Uint8Array(base.length + 4);
    material.set(base);
    new DataView(material.buffer).setUint32(base.length, request++);
    return createHmacDrbg<Uint8Array>(32, n, hmacSha256)(material, (block) => block.slice(0, n));
  };
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
