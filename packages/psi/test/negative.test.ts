/** Malformed group elements, scalars and proofs on both backends: typed errors or `false`, never a crash. */
import { beforeAll, describe, expect, it } from "vitest";
import { fromHex } from "../src/bytes.ts";
import { IdentityElementError, InvalidEncodingError, InvalidScalarError, PsiError } from "../src/errors.ts";
import { bigintToScalar, type Group, IDENTITY, nobleGroup, ORDER } from "../src/group.ts";
import { blindEvaluate, finalize, MODE_VOPRF, verifyProof } from "../src/rfc9497.ts";
import { loadSodiumGroup } from "../src/sodium-group.ts";
import vectors from "./vectors/rfc9497/ristretto255-sha512.json" with { type: "json" };

const voprf = (
  vectors as { mode: number; skSm: string; pkSm?: string; vectors: Record<string, unknown>[] }[]
)[1]!;
const sk = fromHex(voprf.skSm);
const pk = fromHex(voprf.pkSm!);
const v = voprf.vectors[0] as { BlindedElement: string; EvaluationElement: string; Proof: { proof: string } };
const B = fromHex(v.BlindedElement);
const Z = fromHex(v.EvaluationElement);
const proof = fromHex(v.Proof.proof);

// Non-canonical / invalid ristretto255 encodings (RFC 9496 §4.3.1 decoding rejects each).
const le = (n: bigint) => bigintToScalar(0n).map((_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const P = 2n ** 255n - 19n;
const BAD_ELEMENTS: [string, Uint8Array][] = [
  [
    "high bit set",
    (() => {
      const x = B.slice();
      x[31]! |= 0x80;
      return x;
    })(),
  ],
  ["field element = p (non-canonical 0)", le(P)],
  ["field element = p + 1", le(P + 1n)],
  ["negative field element (odd s)", le(1n)],
  ["not a square (s = 2 gives an invalid point)", le(2n)],
  ["all ones", new Uint8Array(32).fill(0xff)],
];
const WRONG_LENGTH = [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), B.subarray(0, 16)];
const BAD_SCALARS: [string, Uint8Array][] = [
  ["L", le(ORDER)],
  ["L + 1", le(ORDER + 1n)],
  ["2^256 - 1", new Uint8Array(32).fill(0xff)],
];

let sodiumGroup: Group;
beforeAll(async () => {
  sodiumGroup = await loadSodiumGroup();
});

for (const backend of ["noble", "sodium"] as const) {
  describe(`negative cases on ${backend}`, () => {
    const g = () => (backend === "noble" ? nobleGroup : sodiumGroup);

    it("rejects the identity element as a blinded or evaluated element and as a public key", () => {
      expect(() => blindEvaluate(sk, IDENTITY, g())).toThrow(IdentityElementError);
      expect(() => finalize(new Uint8Array(1), sk, IDENTITY, g())).toThrow(IdentityElementError);
      expect(() => verifyProof(MODE_VOPRF, IDENTITY, [B], [Z], proof, g())).toThrow(IdentityElementError);
      expect(() => g().mul(sk, IDENTITY)).toThrow(IdentityElementError);
    });

    it("rejects non-canonical element encodings", () => {
      for (const [name, x] of BAD_ELEMENTS) {
        if (name.startsWith("negative") || name.startsWith("not a square")) {
          // these are canonical-length strings that still must not decode to a valid point
          expect(() => g().validate(x, "x"), name).toThrow(PsiError);
          continue;
        }
        expect(() => blindEvaluate(sk, x, g()), name).toThrow(InvalidEncodingError);
        expect(() => verifyProof(MODE_VOPRF, pk, [B], [x], proof, g()), name).toThrow(InvalidEncodingError);
      }
    });

    it("rejects wrong-length elements and scalars", () => {
      for (const x of WRONG_LENGTH) {
        expect(() => blindEvaluate(sk, x, g())).toThrow(InvalidEncodingError);
        expect(() => blindEvaluate(x, B, g())).toThrow(InvalidEncodingError);
        expect(() => verifyProof(MODE_VOPRF, pk, [B], [Z], x, g())).toThrow(InvalidEncodingError);
      }
    });

    it("rejects non-canonical and zero scalars", () => {
      for (const [name, s] of BAD_SCALARS) {
        expect(() => blindEvaluate(s, B, g()), name).toThrow(InvalidEncodingError);
        expect(() => finalize(new Uint8Array(1), s, Z, g()), name).toThrow(InvalidEncodingError);
        const badProof = proof.slice();
        badProof.set(s, 32);
        expect(() => verifyProof(MODE_VOPRF, pk, [B], [Z], badProof, g()), name).toThrow(
          InvalidEncodingError,
        );
      }
      expect(() => blindEvaluate(new Uint8Array(32), B, g())).toThrow(InvalidScalarError);
      expect(() => finalize(new Uint8Array(1), new Uint8Array(32), Z, g())).toThrow(InvalidScalarError);
    });

    it("a well-formed proof with any single flipped bit returns false or a typed error", () => {
      for (let bit = 0; bit < 512; bit++) {
        const p = proof.slice();
        p[bit >> 3]! ^= 1 << (bit & 7);
        let r: unknown;
        try {
          r = verifyProof(MODE_VOPRF, pk, [B], [Z], p, g());
        } catch (e) {
          r = e;
        }
        if (r instanceof Error) expect(r).toBeInstanceOf(InvalidEncodingError);
        else expect(r, `bit ${bit}`).toBe(false);
      }
    });
  });
}
