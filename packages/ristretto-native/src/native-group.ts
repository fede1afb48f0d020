/**
 * psi's {@link Group} on the native addon, byte-identical to the WASM and noble backends and raising the same
 * typed errors with the same messages (test/conformance.test.ts). Length checks run here (so that a wrong
 * length is psi's InvalidEncodingError) and again in C (so that a direct call can never read out of bounds);
 * canonicity, validity and zero checks run in C and come back as error codes, mapped below.
 */
import { availableParallelism } from "node:os";
import {
  ELEMENT_BYTES,
  type Group,
  IdentityElementError,
  InvalidEncodingError,
  InvalidScalarError,
  SCALAR_BYTES,
} from "@relink/psi";
import type { RawAddon } from "./addon.ts";

/** The Group plus async batch forms that run on the libuv thread pool, split over `parts` jobs. */
export interface NativeGroup extends Group {
  readonly backend: "native";
  /** Version of the libsodium the addon linked at run time. */
  readonly sodiumVersion: string;
  /** RFC 9496 §4.3.4 one-way map of 64 uniform bytes (the last step of HashToGroup). */
  fromUniformBytes(uniform: Uint8Array): Uint8Array;
  mulManyAsync(scalar: Uint8Array, points: readonly Uint8Array[], parts?: number): Promise<Uint8Array[]>;
  mulEachAsync(
    scalars: readonly Uint8Array[],
    points: readonly Uint8Array[],
    parts?: number,
  ): Promise<Uint8Array[]>;
  hashToGroupManyAsync(msgs: readonly Uint8Array[], dst: Uint8Array, parts?: number): Promise<Uint8Array[]>;
  validateManyAsync(points: readonly Uint8Array[], what: string, parts?: number): Promise<void>;
  /** Σ k_j·P_j (native/msm.c, VARIABLE TIME: public inputs only, ADR 0039); psi's `msm` helper calls it. */
  msm(scalars: readonly Uint8Array[], points: readonly Uint8Array[]): Uint8Array;
  /**
   * {@link msm} on the libuv thread pool, split into up to `parts` jobs of at least 1,024 terms whose sums are
   * added (default: one job). Same errors as `msm`, with the index in the whole input.
   */
  msmAsync(
    scalars: readonly Uint8Array[],
    points: readonly Uint8Array[],
    parts?: number,
  ): Promise<Uint8Array>;
  /** msm.c's RFC 9496 decode and encode of each element (for tests against libsodium). */
  reencodeMany(points: readonly Uint8Array[]): Uint8Array[];
}

/** Flat scalars and points for msm, checked in index order (scalar j before point j) like psi's fallback. */
function packMsm(
  scalars: readonly Uint8Array[],
  points: readonly Uint8Array[],
): { ks: Uint8Array; ps: Uint8Array } {
  if (!Array.isArray(scalars) || !Array.isArray(points) || scalars.length !== points.length)
    throw new RangeError("msm: scalars and points differ in count");
  const ks = new Uint8Array(scalars.length * 32);
  const ps = new Uint8Array(points.length * 32);
  for (let j = 0; j < scalars.length; j++) {
    ks.set(scalarBytes(scalars[j]!, `msm scalar ${j}`), j * 32);
    ps.set(elementBytes(points[j]!, `msm point ${j}`), j * 32);
  }
  return { ks, ps };
}

/** An addon msm error (code, index within a part starting at `offset`) as psi's typed error. */
function msmError(e: unknown, offset = 0): Error {
  const code = (e as { code?: unknown }).code;
  const j = offset + Number((e as { index?: unknown }).index ?? 0);
  if (code === "SCALAR_NONCANONICAL")
    return new InvalidEncodingError(`msm scalar ${j}: non-canonical scalar (>= L)`);
  if (code === "POINT_INVALID")
    return new InvalidEncodingError(`msm point ${j}: not a canonical ristretto255 encoding`);
  return e as Error;
}

interface Names {
  scalar?: readonly string[];
  element?: string;
  zero?: () => Error;
}

/** Maps an addon error (code, index) to psi's typed error; anything else is rethrown untouched. */
function mapped(e: unknown, names: Names): Error {
  const code = (e as { code?: unknown }).code;
  const index = Number((e as { index?: unknown }).index ?? 0);
  const element = names.element ?? "element";
  switch (code) {
    case "SCALAR_NONCANONICAL":
      return new InvalidEncodingError(
        `${names.scalar?.[index] ?? names.scalar?.[0] ?? "scalar"}: non-canonical scalar (>= L)`,
      );
    case "POINT_INVALID":
      return new InvalidEncodingError(`${element}: not a canonical ristretto255 encoding`);
    case "POINT_IDENTITY":
      return new IdentityElementError(`${element}: identity element`);
    case "ZERO_SCALAR":
      return names.zero ? names.zero() : new IdentityElementError("scalar multiplication by zero");
    default:
      return e as Error;
  }
}

function call<T>(f: () => T, names: Names = {}): T {
  try {
    return f();
  } catch (e) {
    throw mapped(e, names);
  }
}

function scalarBytes(x: Uint8Array, what: string): Uint8Array {
  if (!(x instanceof Uint8Array) || x.length !== SCALAR_BYTES)
    throw new InvalidEncodingError(`${what}: expected a ${SCALAR_BYTES}-byte scalar`);
  return x;
}

function elementBytes(x: Uint8Array, what: string): Uint8Array {
  if (!(x instanceof Uint8Array) || x.length !== ELEMENT_BYTES)
    throw new InvalidEncodingError(`${what}: expected a ${ELEMENT_BYTES}-byte element`);
  return x;
}

function pack(items: readonly Uint8Array[], check: (x: Uint8Array) => Uint8Array): Uint8Array {
  const out = new Uint8Array(items.length * 32);
  for (let i = 0; i < items.length; i++) out.set(check(items[i]!), i * 32);
  return out;
}

function unpack(flat: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = new Array(flat.length / 32);
  for (let i = 0; i < out.length; i++) out[i] = flat.subarray(i * 32, (i + 1) * 32);
  return out;
}

function packMessages(msgs: readonly Uint8Array[]): { flat: Uint8Array; offsets: Uint32Array } {
  const offsets = new Uint32Array(msgs.length + 1);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    if (!(m instanceof Uint8Array)) throw new InvalidEncodingError(`message ${i}: expected bytes`);
    offsets[i + 1] = offsets[i]! + m.length;
  }
  const flat = new Uint8Array(offsets[msgs.length]!);
  for (let i = 0; i < msgs.length; i++) flat.set(msgs[i]!, offsets[i]!);
  return { flat, offsets };
}

/** [start, end) ranges: `parts` jobs of at least 64 items (a job has a fixed cost of a few µs). */
function ranges(n: number, parts: number): [number, number][] {
  const per = Math.max(64, Math.ceil(n / Math.max(1, parts)));
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += per) out.push([s, Math.min(n, s + per)]);
  return out;
}

export function makeNativeGroup(raw: RawAddon): NativeGroup {
  const el = (x: Uint8Array) => elementBytes(x, "element");
  const sc = (x: Uint8Array) => scalarBytes(x, "scalar");
  const defaultParts = availableParallelism();
  const scalar2 = (f: (a: Uint8Array, b: Uint8Array) => Uint8Array, a: Uint8Array, b: Uint8Array) => {
    scalarBytes(a, "a");
    scalarBytes(b, "b");
    return call(() => f.call(raw, a, b), { scalar: ["a", "b"] });
  };
  const async = async <T>(p: () => Promise<T>, names: Names): Promise<T> => {
    try {
      return await p();
    } catch (e) {
      throw mapped(e, names);
    }
  };
  const group: NativeGroup = {
    backend: "native",
    sodiumVersion: raw.sodiumVersion,
    fromUniformBytes(uniform) {
      if (!(uniform instanceof Uint8Array) || uniform.length !== 64)
        throw new InvalidEncodingError("uniform: expected 64 bytes");
      return raw.fromUniformBytes(uniform);
    },
    hashToGroup(msg, dst) {
      const { flat, offsets } = packMessages([msg]);
      return call(() => raw.hashToGroupMany(flat, offsets, dst));
    },
    mul(scalar, point) {
      sc(scalar);
      el(point);
      return call(() => raw.mulMany(scalar, point));
    },
    mulBase(scalar) {
      sc(scalar);
      return call(() => raw.mulBase(scalar));
    },
    add(a, b) {
      el(a);
      el(b);
      return call(() => raw.add(a, b));
    },
    validate(point, what) {
      elementBytes(point, what);
      call(() => raw.validateMany(point), { element: what });
    },
    scalarMul: (a, b) => scalar2(raw.scalarMul, a, b),
    scalarAdd: (a, b) => scalar2(raw.scalarAdd, a, b),
    scalarSub: (a, b) => scalar2(raw.scalarSub, a, b),
    scalarInvert(a) {
      sc(a);
      return call(() => raw.scalarInvert(a), { zero: () => new InvalidScalarError("inverse of zero") });
    },
    scalarReduce(wide) {
      if (!(wide instanceof Uint8Array) || wide.length !== 64)
        throw new InvalidEncodingError("scalarReduce: expected 64 bytes");
      return raw.scalarReduce(wide);
    },
    scalarInvertMany(scalars) {
      const flat = pack(scalars, sc);
      return unpack(
        call(() => raw.scalarInvertMany(flat), { zero: () => new InvalidScalarError("inverse of zero") }),
      );
    },
    mulMany(scalar, points) {
      sc(scalar);
      const flat = pack(points, el);
      return unpack(call(() => raw.mulMany(scalar, flat)));
    },
    mulEach(scalars, points) {
      if (scalars.length !== points.length)
        throw new RangeError("mulEach: scalars and points differ in count");
      const ks = pack(scalars, sc);
      const ps = pack(points, el);
      return unpack(call(() => raw.mulEach(ks, ps)));
    },
    hashToGroupMany(msgs, dst) {
      const { flat, offsets } = packMessages(msgs);
      return unpack(call(() => raw.hashToGroupMany(flat, offsets, dst)));
    },
    validateMany(points, what) {
      const flat = pack(points, (x) => elementBytes(x, what));
      call(() => raw.validateMany(flat), { element: what });
    },
    mulSum(scalars, points) {
      if (scalars.length !== points.length)
        throw new RangeError("mulSum: scalars and points differ in count");
      const ks = pack(scalars, sc);
      const ps = pack(points, el);
      return call(() => raw.mulSum(ks, ps));
    },
    msm(scalars, points) {
      const { ks, ps } = packMsm(scalars, points);
      try {
        return raw.msm(ks, ps);
      } catch (e) {
        throw msmError(e);
      }
    },
    async msmAsync(scalars, points, parts = 1) {
      const { ks, ps } = packMsm(scalars, points);
      const per = Math.max(1024, Math.ceil(scalars.length / Math.max(1, parts)));
      const jobs: Promise<Uint8Array>[] = [];
      for (let s = 0; s < scalars.length || s === 0; s += per) {
        const t = Math.min(scalars.length, s + per);
        jobs.push(raw.msmAsync(ks.subarray(s * 32, t * 32), ps.subarray(s * 32, t * 32)));
      }
      // every job settles before deciding, so that the first bad index (in the earliest part) wins as in msm
      const done = await Promise.allSettled(jobs);
      const failed = done.findIndex((r) => r.status === "rejected");
      if (failed >= 0) throw msmError((done[failed] as PromiseRejectedResult).reason, failed * per);
      return (done as PromiseFulfilledResult<Uint8Array>[])
        .map((r) => r.value)
        .reduce((acc, x) => raw.add(acc, x));
    },
    reencodeMany(points) {
      const flat = pack(points, el);
      try {
        return unpack(raw.reencodeMany(flat));
      } catch (e) {
        const j = Number((e as { index?: unknown }).index ?? 0);
        if ((e as { code?: unknown }).code === "POINT_INVALID")
          throw new InvalidEncodingError(`element ${j}: not a canonical ristretto255 encoding`);
        throw e;
      }
    },
    async mulManyAsync(scalar, points, parts = defaultParts) {
      sc(scalar);
      const flat = pack(points, el);
      const done = await async(
        () =>
          Promise.all(
            ranges(points.length, parts).map(([s, t]) =>
              raw.mulManyAsync(scalar, flat.subarray(s * 32, t * 32)),
            ),
          ),
        {},
      );
      return done.flatMap(unpack);
    },
    async mulEachAsync(scalars, points, parts = defaultParts) {
      if (scalars.length !== points.length)
        throw new RangeError("mulEach: scalars and points differ in count");
      const ks = pack(scalars, sc);
      const ps = pack(points, el);
      const done = await async(
        () =>
          Promise.all(
            ranges(points.length, parts).map(([s, t]) =>
              raw.mulEachAsync(ks.subarray(s * 32, t * 32), ps.subarray(s * 32, t * 32)),
            ),
          ),
        {},
      );
      return done.flatMap(unpack);
    },
    async hashToGroupManyAsync(msgs, dst, parts = defaultParts) {
      const done = await async(
        () =>
          Promise.all(
            ranges(msgs.length, parts).map(([s, t]) => {
              const { flat, offsets } = packMessages(msgs.slice(s, t));
              return raw.hashToGroupManyAsync(flat, offsets, dst);
            }),
          ),
        {},
      );
      return done.flatMap(unpack);
    },
    async validateManyAsync(points, what, parts = defaultParts) {
      const flat = pack(points, (x) => elementBytes(x, what));
      await async(
        () =>
          Promise.all(
            ranges(points.length, parts).map(([s, t]) =>
              raw.validateManyAsync(flat.subarray(s * 32, t * 32)),
            ),
          ),
        { element: what },
      );
    },
  };
  return Object.freeze(group);
}
