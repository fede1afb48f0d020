/**
 * ADR 0039: the variable-time multi-scalar multiplication of native/msm.c against libsodium.
 *
 *  - Σ k_j·P_j equals the sum of libsodium multiplications (the addon's mulSum: one constant-time
 *    crypto_scalarmult_ristretto255 per term, re-encoding additions) for n = 0 … 4,096 random terms, sync and
 *    async (split into parts), and psi's WASM / noble fallback for the smaller n;
 *  - the cases a bucket method gets wrong first: zero scalars, identity points, a point many times, P and −P,
 *    L − 1 and other extreme scalars — each on the Straus path (few terms) and the Pippenger path (many);
 *  - msm.c's own RFC 9496 decode and encode: random points and the RFC 9496 A.1 multiples round-trip, every
 *    A.2 invalid encoding is refused, and on mutated encodings it accepts exactly what libsodium's
 *    crypto_core_ristretto255_is_valid_point accepts;
 *  - every malformed input throws a typed error naming the index, the same on every backend.
 */
import {
  fromHex,
  type Group,
  InvalidEncodingError,
  loadSodiumGroup,
  msm,
  nobleGroup,
  PsiError,
  toHex,
} from "@relink/psi";
import { seededRng } from "@relink/psi/testing";
import sodium from "libsodium-wrappers-sumo";
import { beforeAll, describe, expect, it } from "vitest";
import { loadAddon } from "../src/addon.ts";
import { loadNativeGroup } from "../src/index.ts";
import v9496 from "./vectors/rfc9496/ristretto255.json" with { type: "json" };

const loaded = loadNativeGroup();
const g = "group" in loaded ? loaded.group : undefined;
const rawLoaded = loadAddon();
const raw = "addon" in rawLoaded ? rawLoaded.addon : undefined;
const present = g !== undefined || Boolean(process.env.CI);

let wasm: Group;
beforeAll(async () => {
  wasm = await loadSodiumGroup();
  await sodium.ready;
});

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const ZERO = new Uint8Array(32);
const ONE = le(1n);
const L_MINUS_1 = le(L - 1n);

const rng = seededRng("ristretto-native/msm");
const scalar = () => nobleGroup.scalarReduce(rng(64));
const point = () => g!.mulBase(scalar());
/** Σ k_j·P_j by libsodium: one constant-time multiplication per term (zero terms skipped), added. */
const reference = (ks: readonly Uint8Array[], ps: readonly Uint8Array[]) =>
  ks.length === 0 ? ZERO : g!.mulSum!(ks, ps);

describe.runIf(present)("msm equals the sum of libsodium multiplications", () => {
  for (const n of [0, 1, 2, 3, 255, 256, 257, 2048, 4096]) {
    it(`n = ${n} random terms: sync, async in parts, and (n ≤ 257) the WASM and noble fallbacks`, async () => {
      const ks = Array.from({ length: n }, scalar);
      const ps = Array.from({ length: n }, point);
      const want = toHex(reference(ks, ps));
      expect(toHex(g!.msm(ks, ps))).toBe(want);
      expect(toHex(msm(g!, ks, ps))).toBe(want);
      expect(toHex(await g!.msmAsync(ks, ps))).toBe(want);
      expect(toHex(await g!.msmAsync(ks, ps, 3))).toBe(want);
      if (n <= 257) {
        expect(toHex(msm(wasm, ks, ps))).toBe(want);
        if (n <= 3) expect(toHex(msm(nobleGroup, ks, ps))).toBe(want);
      }
    });
  }

  /** Edge cases, each at a size that takes the Straus path (4 terms) and one that takes Pippenger (600). */
  const sizes = [4, 600];
  const filler = (n: number) => ({
    ks: Array.from({ length: n }, scalar),
    ps: Array.from({ length: n }, point),
  });
  const same = (ks: Uint8Array[], ps: Uint8Array[]) => {
    const got = toHex(g!.msm(ks, ps));
    expect(got).toBe(toHex(reference(ks, ps)));
    expect(toHex(msm(wasm, ks, ps))).toBe(got);
    return got;
  };
  for (const n of sizes) {
    it(`n = ${n}: zero scalars and identity points contribute nothing; all of them give the identity`, () => {
      const { ks, ps } = filler(n);
      const ks2 = ks.map((k, j) => (j % 3 === 0 ? ZERO : k));
      const ps2 = ps.map((p, j) => (j % 5 === 1 ? ZERO : p));
      same(ks2, ps2);
      expect(
        same(
          ks.map(() => ZERO),
          ps,
        ),
      ).toBe(toHex(ZERO));
      expect(
        same(
          ks,
          ps.map(() => ZERO),
        ),
      ).toBe(toHex(ZERO));
    });
    it(`n = ${n}: one point many times (duplicates meet in a bucket) and repeated (scalar, point) pairs`, () => {
      const { ks, ps } = filler(n);
      const P = ps[0]!;
      same(
        ks,
        ps.map(() => P),
      );
      same(
        ks.map(() => ks[0]!),
        ps.map(() => P),
      );
      same(
        ks.map((k, j) => (j % 2 ? ks[0]! : k)),
        ps.map((p, j) => (j % 2 ? P : p)),
      );
    });
    it(`n = ${n}: P and −P cancel; L − 1 is −1; 1, 2, L − 1 and small scalars`, () => {
      const { ks, ps } = filler(n);
      const negated = ps.map((p) => g!.mul(L_MINUS_1, p));
      // Σ k_j P_j + Σ k_j (−P_j) = identity
      expect(same([...ks, ...ks], [...ps, ...negated])).toBe(toHex(ZERO));
      // Σ (L − 1)·P_j = −Σ P_j
      const sumP = same(
        ps.map(() => ONE),
        ps,
      );
      const minus = same(
        ps.map(() => L_MINUS_1),
        ps,
      );
      expect(toHex(g!.add(fromHex(sumP), fromHex(minus)))).toBe(toHex(ZERO));
      same(
        ps.map(
          (_, j) =>
            [
              ONE,
              le(2n),
              L_MINUS_1,
              le(BigInt(j + 1)),
              le(L - 2n),
              le(2n ** 252n),
              le((L - 1n) / 2n),
              le((L + 1n) / 2n),
              le(L - BigInt(j + 1)),
            ][j % 9]!,
        ),
        ps,
      );
      same(
        ps.map((_, j) => le(BigInt(j) * 2n ** 200n + 7n)),
        ps,
      );
    });
  }
});

describe.runIf(present)("msm.c's RFC 9496 decode and encode against libsodium", () => {
  const isValid = (p: Uint8Array) =>
    (
      sodium as unknown as { crypto_core_ristretto255_is_valid_point(p: Uint8Array): boolean }
    ).crypto_core_ristretto255_is_valid_point(p);

  it("random points and the A.1 generator multiples (and the identity) round-trip byte for byte", () => {
    const ps = [...Array.from({ length: 500 }, point), ...v9496.generatorMultiples.map(fromHex)];
    expect(g!.reencodeMany(ps).map(toHex)).toEqual(ps.map(toHex));
    // as msm with weight 1 (decode, one addition, encode of a point with Z ≠ 1)
    for (const p of ps.slice(0, 20)) expect(toHex(g!.msm([ONE], [p]))).toBe(toHex(p));
  });

  it("every A.2 invalid encoding is refused, by reencodeMany and by msm, with its index", () => {
    const bad = Object.values(v9496.invalidEncodings).flat().map(fromHex);
    expect(bad.length).toBe(29);
    for (const b of bad) {
      expect(() => g!.reencodeMany([point(), b])).toThrow(
        new InvalidEncodingError("element 1: not a canonical ristretto255 encoding"),
      );
      expect(() => g!.msm([ONE, ONE, ZERO], [point(), point(), b])).toThrow(
        new InvalidEncodingError("msm point 2: not a canonical ristretto255 encoding"),
      );
    }
  });

  it("on 4,000 mutated encodings (a bit, a byte, the top, the sign) it accepts exactly what libsodium accepts", () => {
    let accepted = 0;
    const P = 2n ** 255n - 19n;
    const cases: Uint8Array[] = [
      le(P),
      le(P + 1n),
      le(P - 1n),
      le(P - 2n),
      le(2n ** 255n - 1n),
      le(2n ** 256n - 1n),
    ];
    for (let i = 0; i < 4000; i++) {
      const x = point().slice();
      const r = rng(3);
      if (i % 4 === 0) x[r[0]! & 31]! ^= 1 << (r[1]! & 7);
      else if (i % 4 === 1) x[r[0]! & 31] = r[1]!;
      else if (i % 4 === 2) x[31]! |= 0x80;
      else x[0]! ^= 1;
      cases.push(x);
    }
    for (const x of cases) {
      const ok = isValid(x) || toHex(x) === toHex(ZERO);
      let mine: boolean;
      try {
        expect(toHex(g!.reencodeMany([x])[0]!)).toBe(toHex(x));
        mine = true;
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidEncodingError);
        mine = false;
      }
      expect(mine, toHex(x)).toBe(ok);
      if (ok) accepted++;
    }
    // the mutations hit both sides (single-bit flips of the low bytes keep many encodings valid)
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(cases.length - 1000);
  });
});

describe.runIf(present)("malformed input: typed errors naming the index, the same on every backend", () => {
  const P = () => point();
  const cases: [string, () => [Uint8Array[], Uint8Array[]], string][] = [
    [
      "short scalar",
      () => [
        [ONE, new Uint8Array(31)],
        [P(), P()],
      ],
      "msm scalar 1: expected a 32-byte scalar",
    ],
    [
      "long point",
      () => [
        [ONE, ONE],
        [P(), new Uint8Array(33)],
      ],
      "msm point 1: expected a 32-byte element",
    ],
    [
      "scalar = L",
      () => [
        [ONE, le(L)],
        [P(), P()],
      ],
      "msm scalar 1: non-canonical scalar (>= L)",
    ],
    [
      "scalar 2^256 − 1",
      () => [
        [le(2n ** 256n - 1n), ONE],
        [P(), P()],
      ],
      "msm scalar 0: non-canonical scalar (>= L)",
    ],
    [
      "non-canonical point",
      () => [
        [ONE, ONE, ONE],
        [P(), P(), fromHex(v9496.invalidEncodings["non-canonical field encodings"][0]!)],
      ],
      "msm point 2: not a canonical ristretto255 encoding",
    ],
    [
      "invalid point under a zero scalar",
      () => [
        [ONE, ZERO],
        [P(), fromHex(v9496.invalidEncodings["non-square x^2"][0]!)],
      ],
      "msm point 1: not a canonical ristretto255 encoding",
    ],
    [
      "bad scalar and bad point at one index: the scalar is named",
      () => [
        [ONE, le(L)],
        [P(), fromHex(v9496.invalidEncodings["negative field elements"][0]!)],
      ],
      "msm scalar 1: non-canonical scalar (>= L)",
    ],
    [
      "the first bad index wins",
      () => [
        [ONE, ONE, le(L)],
        [P(), fromHex(v9496.invalidEncodings["negative xy value"][0]!), P()],
      ],
      "msm point 1: not a canonical ristretto255 encoding",
    ],
  ];
  for (const [name, make, message] of cases)
    it(`${name}: InvalidEncodingError "${message}" on noble, WASM, native and native async`, async () => {
      const [ks, ps] = make();
      for (const grp of [nobleGroup, wasm, g!]) {
        let err: unknown;
        try {
          msm(grp, ks, ps);
        } catch (e) {
          err = e;
        }
        expect(err, grp.backend).toBeInstanceOf(InvalidEncodingError);
        expect(err, grp.backend).toBeInstanceOf(PsiError);
        expect((err as Error).message, grp.backend).toBe(message);
      }
      await expect(g!.msmAsync(ks, ps)).rejects.toThrow(new InvalidEncodingError(message));
    });

  it("counts that differ are a RangeError on every backend; async parts report the index in the whole input", async () => {
    for (const grp of [nobleGroup, wasm, g!]) expect(() => msm(grp, [ONE], [])).toThrow(RangeError);
    const n = 3000;
    const ks: Uint8Array[] = Array.from({ length: n }, () => ONE);
    const ps: Uint8Array[] = Array.from({ length: n }, () => ZERO);
    ps[2500] = fromHex(v9496.invalidEncodings["negative field elements"][1]!);
    ks[2900] = le(L);
    await expect(g!.msmAsync(ks, ps, 3)).rejects.toThrow(
      new InvalidEncodingError("msm point 2500: not a canonical ristretto255 encoding"),
    );
    expect(() => g!.msm(ks, ps)).toThrow(
      new InvalidEncodingError("msm point 2500: not a canonical ristretto255 encoding"),
    );
  });

  it("the raw addon: codes and indexes, argument errors, and its async copy of the inputs", async () => {
    const r = raw!;
    const ks = new Uint8Array(96).fill(0);
    ks.set(le(L), 64);
    const ps = new Uint8Array(96);
    expect(() => r.msm(ks, ps)).toThrow(expect.objectContaining({ code: "SCALAR_NONCANONICAL", index: 2 }));
    await expect(r.msmAsync(ks, ps)).rejects.toMatchObject({ code: "SCALAR_NONCANONICAL", index: 2 });
    ps.set(fromHex(v9496.invalidEncodings["s = -1, which causes y = 0"][0]!), 32);
    expect(() => r.msm(ks, ps)).toThrow(expect.objectContaining({ code: "POINT_INVALID", index: 1 }));
    expect(() => r.reencodeMany(ps)).toThrow(expect.objectContaining({ code: "POINT_INVALID", index: 1 }));
    expect(() => r.msm(new Uint8Array(64), new Uint8Array(32))).toThrow(
      expect.objectContaining({ code: "ERR_RISTRETTO_ARG" }),
    );
    expect(() => r.msm(new Uint8Array(33), new Uint8Array(33))).toThrow(RangeError);
    expect(() => (r.msm as (...a: unknown[]) => unknown)([1], new Uint8Array(32))).toThrow(TypeError);
    expect(toHex(r.msm(new Uint8Array(0), new Uint8Array(0)))).toBe(toHex(ZERO));
    // async works on copies: overwrite the caller's buffers at once
    const k2 = Array.from({ length: 300 }, scalar);
    const p2 = Array.from({ length: 300 }, point);
    const flatK = new Uint8Array(k2.length * 32);
    const flatP = new Uint8Array(p2.length * 32);
    for (let j = 0; j < k2.length; j++) {
      flatK.set(k2[j]!, j * 32);
      flatP.set(p2[j]!, j * 32);
    }
    const pending = r.msmAsync(flatK, flatP);
    flatK.fill(0xff);
    flatP.fill(0xff);
    expect(toHex(await pending)).toBe(toHex(reference(k2, p2)));
  });
});
