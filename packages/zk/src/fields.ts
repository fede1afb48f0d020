/**
 * Encodings of consent fields into BN254 scalar-field elements (the field of circomlib's Poseidon and of
 * the Groth16 circuit; r ≈ 2^253.6). Every encoding is injective on its domain or collision-resistant:
 *
 *  - a 32-byte subject tag becomes two 128-bit limbs (hi = bytes 0..15, lo = bytes 16..31, big-endian), which
 *    the circuit range-checks, so the pair determines the tag exactly;
 *  - a code (purpose, legal basis) becomes SHA-256("relink/zk/v1/" ‖ kind ‖ 0x00 ‖ code) truncated to 248
 *    bits (31 bytes), so different kinds never share a value;
 *  - a scope — the declared purpose and the data category a query reads (ADR 0048) — becomes
 *    SHA-256("relink/zk/v2/scope" ‖ 0x00 ‖ purpose ‖ 0x00 ‖ category) truncated to 248 bits: codes contain
 *    no 0x00, so the pair is recovered from the preimage (injective), and it never equals a v1 code;
 *  - a 32-byte evidence hash becomes SHA-256("relink/zk/v1/evidence" ‖ 0x00 ‖ hash) truncated to 248 bits;
 *  - a time is milliseconds since the Unix epoch, 0 ≤ t < 2^64 (range-checked in the circuit);
 *  - a salt is 31 random bytes (248 bits), drawn by the caller.
 * Truncating SHA-256 to 248 bits keeps ~124-bit collision resistance, and every value is below r.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { ZkError } from "./errors.ts";

/** The BN254 scalar field order r (EIP-196; circomlib's and snarkjs' `bn128`). */
export const FIELD_ORDER = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const te = new TextEncoder();

export function bytesToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

export function bigIntToBytes(n: bigint, len: number): Uint8Array {
  if (n < 0n || n >= 1n << BigInt(8 * len))
    throw new ZkError("INVALID_INPUT", `value does not fit ${len} bytes`);
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** A 32-byte tag as [hi, lo] 128-bit limbs. */
export function tagLimbs(tag: Uint8Array): [bigint, bigint] {
  if (!(tag instanceof Uint8Array) || tag.length !== 32) {
    throw new ZkError("INVALID_INPUT", "tag: 32 bytes expected");
  }
  return [bytesToBigInt(tag.subarray(0, 16)), bytesToBigInt(tag.subarray(16, 32))];
}

function truncatedHash(...parts: Uint8Array[]): bigint {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    buf.set(p, o);
    o += p.length;
  }
  return bytesToBigInt(sha256(buf).subarray(0, 31));
}

const CODE_RE = /^[a-z0-9][a-z0-9._:,-]{0,63}$/;

/** A purpose or legal-basis code as a field element, domain-separated by kind. */
export function codeField(kind: "purpose" | "legal_basis", code: string): bigint {
  if (!CODE_RE.test(code)) throw new ZkError("INVALID_INPUT", `${kind}: not a valid code`);
  return truncatedHash(te.encode(`relink/zk/v1/${kind}`), new Uint8Array([0]), te.encode(code));
}

/**
 * The circuit's `scope` input (ADR 0048): purpose and data category in one field element, so a leaf
 * committed for (credit_assessment, credit_exposure) proves nothing for (credit_assessment, contact).
 */
export function scopeField(purpose: string, category: string): bigint {
  if (!CODE_RE.test(purpose)) throw new ZkError("INVALID_INPUT", "purpose: not a valid code");
  if (!CODE_RE.test(category)) throw new ZkError("INVALID_INPUT", "category: not a valid code");
  return truncatedHash(
    te.encode("relink/zk/v2/scope"),
    new Uint8Array([0]),
    te.encode(purpose),
    new Uint8Array([0]),
    te.encode(category),
  );
}

/** A 32-byte evidence hash as a field element. */
export function evidenceField(evidenceHash: Uint8Array): bigint {
  if (!(evidenceHash instanceof Uint8Array) || evidenceHash.length !== 32) {
    throw new ZkError("INVALID_INPUT", "evidenceHash: 32 bytes expected");
  }
  return truncatedHash(te.encode("relink/zk/v1/evidence"), new Uint8Array([0]), evidenceHash);
}

/** A time in ms since the epoch, checked to be a non-negative safe integer (< 2^53 < 2^64). */
export function timeField(field: string, ms: number): bigint {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new ZkError("INVALID_INPUT", `${field}: a non-negative integer number of milliseconds expected`);
  }
  return BigInt(ms);
}

/** A salt from 31 random bytes (the caller draws them: randomness is a parameter here). */
export function saltField(random31: Uint8Array): bigint {
  if (!(random31 instanceof Uint8Array) || random31.length !== 31) {
    throw new ZkError("INVALID_INPUT", "salt: 31 random bytes expected");
  }
  return bytesToBigInt(random31);
}

/** A field element as 32 big-endian bytes; throws unless 0 ≤ x < r. */
export function fieldToBytes(x: bigint): Uint8Array {
  if (x < 0n || x >= FIELD_ORDER) throw new ZkError("INVALID_INPUT", "not a field element");
  return bigIntToBytes(x, 32);
}

/** 32 big-endian bytes as a field element; throws ZkError unless canonical (< r). */
export function bytesToField(field: string, b: Uint8Array): bigint {
  if (!(b instanceof Uint8Array) || b.length !== 32)
    throw new ZkError("INVALID_ENCODING", `${field}: 32 bytes expected`);
  const x = bytesToBigInt(b);
  if (x >= FIELD_ORDER) throw new ZkError("INVALID_ENCODING", `${field}: not a canonical field element`);
  return x;
}
