/**
 * One conformance suite for every ristretto255 backend this process can load: @noble/curves (pure JS),
 * libsodium WASM, and the native addon. External vectors (RFC 9496 Appendix A, RFC 9497 Appendix A.1 —
 * test/vectors/*, see each SOURCE.md), byte identity on random cases, and malformed input refused with the
 * same typed error and message on each backend.
 *
 * The native backend is skipped only when its addon is absent AND CI is unset; under CI=true an absent addon
 * fails the first test (.ci/run installs libsodium-dev and builds it).
 */
import { ristretto255_hasher } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import {
  fromHex,
  type Group,
  IdentityElementError,
  InvalidEncodingError,
  InvalidScalarError,
  loadSodiumGroup,
  nobleGroup,
  PsiError,
  rfc9497,
  toHex,
} from "@relink/psi";
import { seededRng } from "@relink/psi/testing";
import sodium from "libsodium-wrappers-sumo";
import { beforeAll, describe, expect, it } from "vitest";
import { loadNativeGroup } from "../src/index.ts";
import v9496 from "./vectors/rfc9496/ristretto255.json" with { type: "json" };
import v9497 from "./vectors/rfc9497/ristretto255-sha512.json" with { type: "json" };

const native = loadNativeGroup();
const ci = Boolean(process.env.CI);
const nativeGroup = "group" in native ? native.group : undefined;

it.runIf(ci)("under CI the native addon is present (CI never skips the native backend)", () => {
  expect("reason" in native ? native.reason : "present").toBe("present");
});

let wasm: Group;
beforeAll(async () => {
  wasm = await loadSodiumGroup();
  await sodium.ready;
});

type Backend = "noble" | "sodium" | "native";
const BACKENDS: Backend[] = ["noble", "sodium", ...(nativeGroup ? (["native"] as const) : [])];
const groupOf = (b: Backend): Group => (b === "noble" ? nobleGroup : b === "sodium" ? wasm : nativeGroup!);

/** The one-way map (RFC 9496 §4.3.4) on each backend: noble's deriveToCurve, libsodium's from_hash. */
const fromUniform: Record<Backend, (h: Uint8Array) => Uint8Array> = {
  noble: (h) => ristretto255_hasher.deriveToCurve!(h).toBytes(),
  sodium: (h) =>
    (
      sodium as unknown as { crypto_core_ristretto255_from_hash(h: Uint8Array): Uint8Array }
    ).crypto_core_ristretto255_from_hash(h),
  native: (h) => nativeGroup!.fromUniformBytes(h),
};

const le = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const multiples = v9496.generatorMultiples.map(fromHex);
const B = multiples[1]!;
const invalid = Object.entries(v9496.invalidEncodings).flatMap(([kind, xs]) =>
  xs.map((x) => [kind, fromHex(x)] as const),
);

interface Suite {
  mode: number;
  skSm: string;
  pkSm?: string;
  vectors: {
    Batch: number;
    Blind: string;
    BlindedElement: string;
    EvaluationElement: string;
    Input: string;
    Output: string;
    Proof?: { proof: string; r: string };
  }[];
}
const suites = v9497 as Suite[];
const list = (s: string) => s.split(",").map(fromHex);
const hexes = (xs: readonly Uint8Array[]) => xs.map(toHex).join(",");
/** An Rng replaying fixed scalars through RandomScalar's 64-byte reduction. */
const replay = (...scalars: Uint8Array[]) => {
  const q = [...scalars];
  return (n: number) => {
    const out = new Uint8Array(n);
    out.set(q.shift()!);
    return out;
  };
};

for (const backend of BACKENDS) {
  describe(`${backend}: RFC 9496 Appendix A`, () => {
    const g = () => groupOf(backend);

    it("A.1: k·B for k = 1..15 by mulBase, by mul and by repeated addition; 0·B is the identity", () => {
      for (let k = 1; k < 16; k++) {
        expect(toHex(g().mulBase(le(BigInt(k)))), `${k}·B`).toBe(v9496.generatorMultiples[k]);
        expect(toHex(g().mul(le(BigInt(k)), B)), `${k}·B`).toBe(v9496.generatorMultiples[k]);
        expect(toHex(g().add(multiples[k - 1]!, B)), `${k - 1}·B + B`).toBe(v9496.generatorMultiples[k]);
      }
      expect(() => g().validate(multiples[0]!, "0·B")).toThrow(IdentityElementError);
      expect(() => g().mulBase(le(0n))).toThrow(IdentityElementError);
    });

    it("A.2: every invalid encoding is refused by validate, mul and add", () => {
      expect(invalid).toHaveLength(29);
      for (const [kind, bad] of invalid) {
        const what = `${kind} ${toHex(bad)}`;
        expect(() => g().validate(bad, "element"), what).toThrow(InvalidEncodingError);
        expect(() => g().mul(le(3n), bad), what).toThrow(InvalidEncodingError);
        expect(() => g().add(B, bad), what).toThrow(InvalidEncodingError);
      }
    });

    it("A.3: the one-way map of SHA-512(label)", () => {
      for (const v of v9496.fromUniformBytes) {
        const h = sha512(new TextEncoder().encode(v.label));
        if (v.input) expect(toHex(h)).toBe(v.input);
        expect(toHex(fromUniform[backend](h)), v.label).toBe(v.output);
      }
    });
  });

  describe(`${backend}: RFC 9497 ristretto255-SHA512 (Appendix A.1)`, () => {
    const g = () => groupOf(backend);
    const { MODE_OPRF, MODE_VOPRF } = rfc9497;

    it("OPRF mode 0: blind, evaluate (single and batch), finalize", () => {
      const suite = suites.find((s) => s.mode === 0)!;
      const sk = fromHex(suite.skSm);
      for (const v of suite.vectors) {
        const input = fromHex(v.Input);
        const b = rfc9497.blind(MODE_OPRF, input, replay(fromHex(v.Blind)), g());
        expect(toHex(b.blindedElement)).toBe(v.BlindedElement);
        expect(hexes(rfc9497.blindManyWith(MODE_OPRF, [input], [fromHex(v.Blind)], g()))).toBe(
          v.BlindedElement,
        );
        const z = rfc9497.blindEvaluate(sk, b.blindedElement, g());
        expect(toHex(z)).toBe(v.EvaluationElement);
        expect(toHex(rfc9497.finalize(input, b.blind, z, g()))).toBe(v.Output);
        expect(toHex(rfc9497.evaluate(MODE_OPRF, sk, input, g()))).toBe(v.Output);
      }
    });

    it("VOPRF mode 1: batch blinds, evaluations, DLEQ proof, outputs; a flipped proof bit fails", () => {
      const suite = suites.find((s) => s.mode === 1)!;
      const sk = fromHex(suite.skSm);
      const pk = fromHex(suite.pkSm!);
      for (const v of suite.vectors) {
        const inputs = list(v.Input);
        const blinds = list(v.Blind);
        const blinded = rfc9497.blindManyWith(MODE_VOPRF, inputs, blinds, g());
        expect(hexes(blinded)).toBe(v.BlindedElement);
        const ev = rfc9497.blindEvaluateBatch(sk, pk, blinded, replay(fromHex(v.Proof!.r)), g());
        expect(hexes(ev.evaluatedElements)).toBe(v.EvaluationElement);
        expect(toHex(ev.proof)).toBe(v.Proof!.proof);
        const out = rfc9497.finalizeBatch(inputs, blinds, blinded, ev, pk, g());
        expect(out && hexes(out)).toBe(v.Output);
        const bad = ev.proof.slice();
        bad[5]! ^= 1;
        expect(rfc9497.verifyProof(MODE_VOPRF, pk, blinded, ev.evaluatedElements, bad, g())).toBe(false);
      }
    });
  });
}

describe("byte identity across backends on random cases", () => {
  const rng = seededRng("ristretto-native/conformance");
  const N = 200;
  const scalars = Array.from({ length: N }, () => nobleGroup.scalarReduce(rng(64)));
  const points = scalars.map((k) => nobleGroup.mulBase(k));
  const msgs = Array.from({ length: N }, (_, i) => rng(i % 70));
  const wides = Array.from({ length: N }, () => rng(64));
  const dst = new TextEncoder().encode("HashToGroup-OPRFV1-\x01-ristretto255-SHA512");

  it(`${N} cases of every operation agree with noble on ${BACKENDS.join(", ")}`, () => {
    const run = (g: Group) => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < N; i++) {
        const j = (i * 7 + 3) % N;
        const [k, p, q, m] = [scalars[i]!, points[i]!, points[j]!, msgs[i]!];
        out.push(
          g.mul(k, q),
          g.mulBase(k),
          g.add(p, q),
          g.hashToGroup(m, dst),
          g.scalarMul(k, scalars[j]!),
          g.scalarAdd(k, scalars[j]!),
          g.scalarSub(k, scalars[j]!),
          g.scalarInvert(k),
          g.scalarReduce(wides[i]!),
        );
      }
      return out.map(toHex);
    };
    const want = run(nobleGroup);
    for (const b of BACKENDS) expect(run(groupOf(b)), b).toEqual(want);
  });

  it("batch forms equal their per-element loops (and the native async forms equal both)", async () => {
    const k = scalars[0]!;
    const want = {
      many: points.map((p) => nobleGroup.mul(k, p)),
      each: points.map((p, j) => nobleGroup.mul(scalars[j]!, p)),
      hash: msgs.map((m) => nobleGroup.hashToGroup(m, dst)),
      sum: rfc9497.weightedSum(nobleGroup, scalars, points),
    };
    for (const b of BACKENDS) {
      const g = groupOf(b);
      if (b === "native") expect(g.mulMany && g.mulEach && g.hashToGroupMany && g.mulSum).toBeDefined();
      expect(hexes(g.mulMany?.(k, points) ?? want.many), b).toBe(hexes(want.many));
      expect(hexes(g.mulEach?.(scalars, points) ?? want.each), b).toBe(hexes(want.each));
      expect(hexes(g.hashToGroupMany?.(msgs, dst) ?? want.hash), b).toBe(hexes(want.hash));
      expect(toHex(rfc9497.weightedSum(g, scalars, points)), b).toBe(toHex(want.sum));
    }
    // mulSum's lenient terms: zero scalars and identity points contribute nothing, as in mulLenient.
    const lenientK = [scalars[1]!, le(0n), scalars[2]!];
    const lenientP = [points[1]!, points[2]!, new Uint8Array(32)];
    expect(toHex(rfc9497.weightedSum(nobleGroup, lenientK, lenientP))).toBe(
      toHex(nobleGroup.mul(scalars[1]!, points[1]!)),
    );
    if (nativeGroup) {
      expect(hexes(nativeGroup.scalarInvertMany!(scalars))).toBe(
        hexes(scalars.map((x) => nobleGroup.scalarInvert(x))),
      );
      expect(nativeGroup.scalarInvertMany!([])).toEqual([]);
      expect(() => nativeGroup.scalarInvertMany!([scalars[0]!, le(0n), scalars[1]!])).toThrow(
        new InvalidScalarError("inverse of zero"),
      );
      expect(() => nativeGroup.scalarInvertMany!([scalars[0]!, le(L)])).toThrow(
        new InvalidEncodingError("scalar: non-canonical scalar (>= L)"),
      );
      expect(toHex(nativeGroup.mulSum!(lenientK, lenientP))).toBe(
        toHex(nobleGroup.mul(scalars[1]!, points[1]!)),
      );
      expect(hexes(await nativeGroup.mulManyAsync(k, points, 3))).toBe(hexes(want.many));
      expect(hexes(await nativeGroup.mulEachAsync(scalars, points, 2))).toBe(hexes(want.each));
      expect(hexes(await nativeGroup.hashToGroupManyAsync(msgs, dst, 4))).toBe(hexes(want.hash));
      await expect(nativeGroup.validateManyAsync(points, "p", 2)).resolves.toBeUndefined();
    }
  });
});

describe("malformed input: the same typed error and message on every backend", () => {
  const k = le(5n);
  const P = multiples[3]!;
  const ID = multiples[0]!;
  const lengths = [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33)];
  const notBytes = ["", [1, 2, 3], new Uint16Array(16), undefined] as unknown as Uint8Array[];
  const nonCanonical = [le(L), le(L + 1n), new Uint8Array(32).fill(0xff)];
  const cases: [string, (g: Group) => unknown][] = [
    ...[...lengths, ...notBytes].flatMap((x, i): [string, (g: Group) => unknown][] => [
      [`mul scalar #${i}`, (g) => g.mul(x, P)],
      [`mul element #${i}`, (g) => g.mul(k, x)],
      [`mulBase #${i}`, (g) => g.mulBase(x)],
      [`add #${i}`, (g) => g.add(P, x)],
      [`validate #${i}`, (g) => g.validate(x, "blinded element")],
      [`scalarMul #${i}`, (g) => g.scalarMul(k, x)],
      [`scalarInvert #${i}`, (g) => g.scalarInvert(x)],
    ]),
    ...nonCanonical.flatMap((x, i): [string, (g: Group) => unknown][] => [
      [`mul by non-canonical #${i}`, (g) => g.mul(x, P)],
      [`mulBase by non-canonical #${i}`, (g) => g.mulBase(x)],
      [`scalarMul a non-canonical #${i}`, (g) => g.scalarMul(x, k)],
      [`scalarSub b non-canonical #${i}`, (g) => g.scalarSub(k, x)],
      [`scalarInvert non-canonical #${i}`, (g) => g.scalarInvert(x)],
    ]),
    ["mul by zero", (g) => g.mul(le(0n), P)],
    ["mulBase by zero", (g) => g.mulBase(le(0n))],
    ["invert zero", (g) => g.scalarInvert(le(0n))],
    ["mul the identity", (g) => g.mul(k, ID)],
    ["validate the identity", (g) => g.validate(ID, "evaluated element")],
    ["validate a bad encoding", (g) => g.validate(invalid[4]![1], "public key")],
    ["scalarReduce 63 bytes", (g) => g.scalarReduce(new Uint8Array(63))],
    ["blindEvaluate the identity", (g) => rfc9497.blindEvaluate(k, ID, g)],
    [
      "verifyProof with a bad element",
      (g) => rfc9497.verifyProof(1, P, [P], [invalid[0]![1]], new Uint8Array(64), g),
    ],
  ];
  const outcome = (g: Group, f: (g: Group) => unknown) => {
    try {
      f(g);
      return "no error";
    } catch (e) {
      if (!(e instanceof PsiError)) return `untyped ${(e as Error).name}: ${(e as Error).message}`;
      return `${e.name} (${e.code}): ${e.message}`;
    }
  };

  it(`${cases.length} malformed calls throw a PsiError, identical to noble's, on ${BACKENDS.join(", ")}`, () => {
    for (const [name, f] of cases) {
      const want = outcome(nobleGroup, f);
      expect(want, name).toMatch(/^(InvalidEncodingError|IdentityElementError|InvalidScalarError) /);
      for (const b of BACKENDS) expect(outcome(groupOf(b), f), `${name} on ${b}`).toBe(want);
    }
  });

  it("batch forms refuse a bad element anywhere in the batch with the per-element error", async () => {
    for (const b of BACKENDS) {
      const g = groupOf(b);
      const mulMany = g.mulMany ?? ((s: Uint8Array, ps: readonly Uint8Array[]) => ps.map((p) => g.mul(s, p)));
      expect(() => mulMany(k, [P, P, ID]), b).toThrow(IdentityElementError);
      expect(() => mulMany(k, [P, invalid[9]![1]]), b).toThrow(InvalidEncodingError);
      expect(() => mulMany(k, [P, new Uint8Array(31)]), b).toThrow(InvalidEncodingError);
      expect(() => mulMany(le(L), [P]), b).toThrow(InvalidEncodingError);
      expect(() => mulMany(le(0n), [P]), b).toThrow(IdentityElementError);
      const validateMany =
        g.validateMany ??
        ((ps: readonly Uint8Array[]) => {
          for (const p of ps) g.validate(p, "x");
        });
      expect(() => validateMany([P, P, ID], "x"), b).toThrow(IdentityElementError);
    }
    if (nativeGroup) {
      await expect(nativeGroup.mulManyAsync(k, [P, ID])).rejects.toThrow(IdentityElementError);
      await expect(nativeGroup.mulEachAsync([k], [invalid[2]![1]])).rejects.toThrow(InvalidEncodingError);
      await expect(nativeGroup.validateManyAsync([P, ID], "blinded element")).rejects.toThrow(
        "blinded element: identity element",
      );
    }
  });
});
