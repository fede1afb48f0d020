/**
 * The prime-order group of the ristretto255-SHA512 suite (RFC 9497 §4.1; RFC 9496 ristretto255) behind a
 * small byte-level interface, so that the protocol code (rfc9497.ts, threshold.ts) is written once and runs
 * on two interchangeable backends:
 *
 *  - {@link nobleGroup}: @noble/curves 2.4 (pure JS, audited, runs everywhere). Its variable-base
 *    multiplication of an arbitrary point by a long-lived secret is NOT timing-blinded (noble's README):
 *    fine for clients (their secrets are one-time blinds) and for tests, not for key holders in production.
 *  - `loadSodiumGroup()` (sodium-group.ts): libsodium 1.0.x compiled to WASM (constant-time ref10), ≈9×
 *    faster. Browsers and Node processes without the native addon use this one.
 *  - a native backend (the system's libsodium through a Node-API addon, @relink/ristretto-native, ADR 0019),
 *    injected by Node apps at start-up; psi itself never loads native code.
 *
 * Encodings: elements are the 32-byte canonical ristretto255 encoding (RFC 9496 §4.3.2); scalars are
 * 32-byte little-endian integers < L (RFC 9497 §4.1 SerializeScalar). Decoders reject wrong lengths,
 * non-canonical encodings and — where RFC 9497 §3.3 requires — the identity element.
 */
import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";
import { IdentityElementError, InvalidEncodingError, InvalidScalarError } from "./errors.ts";

export const ELEMENT_BYTES = 32;
export const SCALAR_BYTES = 32;
/** The ristretto255 group order L = 2^252 + 27742317777372353535851937790883648493. */
export const ORDER: bigint = ristretto255.Point.Fn.ORDER;
/** Encoding of the identity element (used only for partial sums, never on the wire). */
export const IDENTITY: Uint8Array = new Uint8Array(ELEMENT_BYTES);

export interface Group {
  readonly backend: "noble" | "sodium" | "native";
  /** RFC 9497 §4.1 HashToGroup: hash_to_ristretto255 (RFC 9380 App. B) with expand_message_xmd(SHA-512). */
  hashToGroup(msg: Uint8Array, dst: Uint8Array): Uint8Array;
  /** k·P for a canonical non-zero scalar and a canonical non-identity element; the result is never identity. */
  mul(scalar: Uint8Array, point: Uint8Array): Uint8Array;
  /** k·G for a canonical non-zero scalar. */
  mulBase(scalar: Uint8Array): Uint8Array;
  /** P + Q; either may be the identity. */
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  /** Throws {@link InvalidEncodingError} or {@link IdentityElementError} unless `point` is a valid non-identity element. */
  validate(point: Uint8Array, what: string): void;
  scalarMul(a: Uint8Array, b: Uint8Array): Uint8Array;
  scalarSub(a: Uint8Array, b: Uint8Array): Uint8Array;
  scalarAdd(a: Uint8Array, b: Uint8Array): Uint8Array;
  /** a^-1 mod L for a non-zero scalar. */
  scalarInvert(a: Uint8Array): Uint8Array;
  /** A 64-byte little-endian string reduced mod L (the same reduction libsodium's scalar_reduce does). */
  scalarReduce(wide: Uint8Array): Uint8Array;
  // Optional batch forms, for a backend where a call has a fixed cost (a native one crosses JS↔C once per
  // batch). Same results and the same typed errors as the per-element loops in the helpers below.
  /** k·P_j for every j ({@link mul}'s checks on each). */
  mulMany?(scalar: Uint8Array, points: readonly Uint8Array[]): Uint8Array[];
  /** k_j·P_j for every j. */
  mulEach?(scalars: readonly Uint8Array[], points: readonly Uint8Array[]): Uint8Array[];
  /** HashToGroup of every message under one DST. */
  hashToGroupMany?(msgs: readonly Uint8Array[], dst: Uint8Array): Uint8Array[];
  /** {@link validate} on every element. */
  validateMany?(points: readonly Uint8Array[], what: string): void;
  /** a_j^-1 for every j (one inversion for the batch). */
  scalarInvertMany?(scalars: readonly Uint8Array[]): Uint8Array[];
  /** Σ k_j·P_j, where a zero k_j or an identity P_j contributes the identity (rfc9497.ts mulLenient). */
  mulSum?(scalars: readonly Uint8Array[], points: readonly Uint8Array[]): Uint8Array;
  /**
   * Multi-scalar multiplication Σ k_j·P_j in VARIABLE TIME (Straus / Pippenger, ADR 0039): call it only through
   * {@link msm} and only on scalars and points that are public or no longer need secrecy. Zero scalars and
   * identity points are allowed; every scalar must be < L and every point a canonical encoding, else the
   * typed errors of {@link msm} naming the first bad index.
   */
  msm?(scalars: readonly Uint8Array[], points: readonly Uint8Array[]): Uint8Array;
}

/**
 * Σ k_j·P_j (the identity for no terms): the backend's multi-scalar multiplication when it has one (native,
 * ADR 0039), else one {@link Group.mul} per term and re-encoding additions (WASM, noble — the browser path).
 * VARIABLE TIME on the native backend: for public scalars and points only (the combined check's weights
 * once the round-1 answers are fixed, Lagrange coefficients, received elements). Zero scalars and identity
 * points contribute the identity but are still checked. Errors, the same on every backend, for the first bad
 * index j in order (scalar before point): {@link InvalidEncodingError} `msm scalar j: …` (wrong length or
 * ≥ L) or `msm point j: …` (wrong length or not a canonical ristretto255 encoding); RangeError when the
 * counts differ.
 */
export function msm(group: Group, scalars: readonly Uint8Array[], points: readonly Uint8Array[]): Uint8Array {
  if (scalars.length !== points.length) throw new RangeError("msm: scalars and points differ in count");
  if (group.msm) return group.msm(scalars, points);
  let acc: Uint8Array | undefined;
  for (let j = 0; j < scalars.length; j++) {
    const k = checkScalar(scalars[j]!, `msm scalar ${j}`, false);
    const p = points[j]!;
    const what = `msm point ${j}`;
    checkElementLength(p, what);
    if (isZero(p)) continue;
    if (isZero(k)) {
      group.validate(p, what);
      continue;
    }
    let term: Uint8Array;
    try {
      term = group.mul(k, p);
    } catch (e) {
      // the scalar is canonical and non-zero and the point is not the identity: only the encoding is left
      if (e instanceof InvalidEncodingError)
        throw new InvalidEncodingError(`${what}: not a canonical ristretto255 encoding`);
      throw e;
    }
    acc = acc ? group.add(acc, term) : term;
  }
  return acc ?? IDENTITY.slice();
}

/** k·P_j for every j: the backend's batch form, or one {@link Group.mul} per element. */
export function mulMany(group: Group, k: Uint8Array, points: readonly Uint8Array[]): Uint8Array[] {
  return group.mulMany ? group.mulMany(k, points) : points.map((p) => group.mul(k, p));
}

/** k_j·P_j for every j. */
export function mulEach(
  group: Group,
  ks: readonly Uint8Array[],
  points: readonly Uint8Array[],
): Uint8Array[] {
  if (ks.length !== points.length) throw new RangeError("mulEach: scalars and points differ in count");
  return group.mulEach ? group.mulEach(ks, points) : points.map((p, j) => group.mul(ks[j]!, p));
}

/** a_j^-1 for every non-zero scalar. */
export function scalarInvertMany(group: Group, scalars: readonly Uint8Array[]): Uint8Array[] {
  return group.scalarInvertMany ? group.scalarInvertMany(scalars) : scalars.map((s) => group.scalarInvert(s));
}

/** HashToGroup of every message under one DST. */
export function hashToGroupMany(group: Group, msgs: readonly Uint8Array[], dst: Uint8Array): Uint8Array[] {
  return group.hashToGroupMany
    ? group.hashToGroupMany(msgs, dst)
    : msgs.map((m) => group.hashToGroup(m, dst));
}

/** Validates every element (non-identity, canonical). */
export function validateMany(group: Group, points: readonly Uint8Array[], what: string): void {
  if (group.validateMany) group.validateMany(points, what);
  else for (const p of points) group.validate(p, what);
}

const Fn = ristretto255.Point.Fn;
const Point = ristretto255.Point;

export function isZero(bytes: Uint8Array): boolean {
  let d = 0;
  for (const b of bytes) d |= b;
  return d === 0;
}

export function scalarToBigint(s: Uint8Array): bigint {
  let n = 0n;
  for (let i = s.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(s[i]!);
  return n;
}

export function bigintToScalar(n: bigint): Uint8Array {
  const out = new Uint8Array(SCALAR_BYTES);
  let v = ((n % ORDER) + ORDER) % ORDER;
  for (let i = 0; i < SCALAR_BYTES; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** L little-endian, for {@link belowOrder}. */
const ORDER_LE: Uint8Array = (() => {
  const out = new Uint8Array(SCALAR_BYTES);
  let v = ORDER;
  for (let i = 0; i < SCALAR_BYTES; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
})();

/** s < L for a 32-byte little-endian s: the borrow of s − L, byte by byte, without a data-dependent branch. */
export function belowOrder(s: Uint8Array): boolean {
  let borrow = 0;
  for (let i = 0; i < SCALAR_BYTES; i++) borrow = ((s[i]! - ORDER_LE[i]! - borrow) >>> 8) & 1;
  return borrow === 1;
}

/** RFC 9497 §4.1 DeserializeScalar: 32 bytes, little-endian, < L; `nonZero` additionally rejects 0. */
export function checkScalar(bytes: Uint8Array, what: string, nonZero = true): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_BYTES) {
    throw new InvalidEncodingError(`${what}: expected a ${SCALAR_BYTES}-byte scalar`);
  }
  if (!belowOrder(bytes)) throw new InvalidEncodingError(`${what}: non-canonical scalar (>= L)`);
  if (nonZero && isZero(bytes)) throw new InvalidScalarError(`${what}: zero scalar`);
  return bytes;
}

export function checkElementLength(bytes: Uint8Array, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== ELEMENT_BYTES) {
    throw new InvalidEncodingError(`${what}: expected a ${ELEMENT_BYTES}-byte element`);
  }
}

/** RFC 9497 §2.1 RandomScalar: 64 uniform bytes reduced mod L (bias < 2^-250), never zero. */
export function randomScalar(group: Group, rng: (n: number) => Uint8Array): Uint8Array {
  for (let i = 0; i < 8; i++) {
    const wide = rng(64);
    if (!(wide instanceof Uint8Array) || wide.length !== 64)
      throw new InvalidEncodingError("rng: expected 64 bytes");
    const s = group.scalarReduce(wide);
    if (!isZero(s)) return s;
  }
  throw new InvalidScalarError("rng keeps producing zero scalars");
}

type NoblePoint = InstanceType<typeof Point>;

function decode(bytes: Uint8Array, what: string, allowIdentity: boolean): NoblePoint {
  checkElementLength(bytes, what);
  let p: NoblePoint;
  try {
    p = Point.fromBytes(bytes);
  } catch {
    throw new InvalidEncodingError(`${what}: not a canonical ristretto255 encoding`);
  }
  if (!allowIdentity && p.is0()) throw new IdentityElementError(`${what}: identity element`);
  return p;
}

function nobleScalar(s: Uint8Array, what: string): bigint {
  checkScalar(s, what, false);
  return scalarToBigint(s);
}

export const nobleGroup: Group = Object.freeze({
  backend: "noble" as const,
  hashToGroup(msg: Uint8Array, dst: Uint8Array): Uint8Array {
    return ristretto255_hasher.hashToCurve(msg, { DST: dst }).toBytes();
  },
  mul(scalar: Uint8Array, point: Uint8Array): Uint8Array {
    const k = nobleScalar(scalar, "scalar");
    if (k === 0n) throw new IdentityElementError("scalar multiplication by zero");
    return decode(point, "element", false).multiply(k).toBytes();
  },
  mulBase(scalar: Uint8Array): Uint8Array {
    const k = nobleScalar(scalar, "scalar");
    if (k === 0n) throw new IdentityElementError("scalar multiplication by zero");
    return Point.BASE.multiply(k).toBytes();
  },
  add(a: Uint8Array, b: Uint8Array): Uint8Array {
    return decode(a, "element", true)
      .add(decode(b, "element", true))
      .toBytes();
  },
  validate(point: Uint8Array, what: string): void {
    decode(point, what, false);
  },
  scalarMul: (a: Uint8Array, b: Uint8Array) => Fn.toBytes(Fn.mul(nobleScalar(a, "a"), nobleScalar(b, "b"))),
  scalarSub: (a: Uint8Array, b: Uint8Array) => Fn.toBytes(Fn.sub(nobleScalar(a, "a"), nobleScalar(b, "b"))),
  scalarAdd: (a: Uint8Array, b: Uint8Array) => Fn.toBytes(Fn.add(nobleScalar(a, "a"), nobleScalar(b, "b"))),
  scalarInvert(a: Uint8Array): Uint8Array {
    const n = nobleScalar(a, "scalar");
    if (n === 0n) throw new InvalidScalarError("inverse of zero");
    return Fn.toBytes(Fn.inv(n));
  },
  scalarReduce(wide: Uint8Array): Uint8Array {
    if (!(wide instanceof Uint8Array) || wide.length !== 64)
      throw new InvalidEncodingError("scalarReduce: expected 64 bytes");
    return bigintToScalar(scalarToBigint(wide));
  },
});
