/**
 * The two Ed25519 verifiers (ed25519.ts) on RFC 8032 §7.1 vectors and on the failures that matter: any
 * flipped bit of message, signature or key, S + L (non-canonical), a non-canonical public key, wrong lengths.
 * Both must give the same verdict everywhere; on Node the default must be the node:crypto one.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import {
  type Ed25519Verify,
  signEd25519,
  signEd25519Noble,
  signEd25519Node,
  verifyEd25519,
  verifyEd25519Noble,
  verifyEd25519Node,
} from "../src/ed25519.ts";
import vectors from "./vectors/rfc8032/ed25519.json" with { type: "json" };

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const verifiers: [string, Ed25519Verify][] = [
  ["noble", verifyEd25519Noble],
  ["node:crypto", verifyEd25519Node!],
];

describe("Ed25519 verifiers", () => {
  it("node:crypto is available and is the default on Node", () => {
    expect(verifyEd25519Node).toBeTypeOf("function");
    expect(verifyEd25519).toBe(verifyEd25519Node);
  });

  for (const [name, verify] of verifiers) {
    describe(name, () => {
      it("accepts the RFC 8032 §7.1 vectors and rejects every flipped bit", () => {
        for (const v of vectors) {
          const pk = hex(v.publicKey);
          const msg = hex(v.message);
          const sig = hex(v.signature);
          expect(ed25519.getPublicKey(hex(v.secretKey))).toEqual(pk);
          expect(verify(pk, msg, sig)).toBe(true);
          for (let bit = 0; bit < 512; bit += 7) {
            const bad = sig.slice();
            bad[bit >> 3]! ^= 1 << (bit & 7);
            expect(verify(pk, msg, bad)).toBe(false);
          }
          const badMsg = Uint8Array.from([...msg, 0]);
          expect(verify(pk, badMsg, sig)).toBe(false);
          const badPk = pk.slice();
          badPk[0]! ^= 1;
          expect(verify(badPk, msg, sig)).toBe(false);
        }
      });

      it("rejects S + L, a non-canonical key and wrong lengths", () => {
        const v = vectors[1]!;
        const pk = hex(v.publicKey);
        const msg = hex(v.message);
        const sig = hex(v.signature);
        let s = 0n;
        for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
        s += L;
        const malleable = sig.slice();
        for (let i = 32; i < 64; i++) {
          malleable[i] = Number(s & 0xffn);
          s >>= 8n;
        }
        expect(verify(pk, msg, malleable)).toBe(false);
        // y = p (≡ 0): a non-canonical encoding of a valid point.
        const nonCanonical = new Uint8Array(32).fill(0xff);
        nonCanonical[0] = 0xed;
        nonCanonical[31] = 0x7f;
        expect(verify(nonCanonical, msg, sig)).toBe(false);
        expect(verify(pk, msg, sig.subarray(0, 63))).toBe(false);
        expect(verify(pk.subarray(0, 31), msg, sig)).toBe(false);
      });

      it("agrees with the other verifier on fresh signatures", () => {
        for (let i = 0; i < 20; i++) {
          const seed = crypto.getRandomValues(new Uint8Array(32));
          const msg = crypto.getRandomValues(new Uint8Array(i * 13));
          const sig = ed25519.sign(msg, seed);
          const pk = ed25519.getPublicKey(seed);
          expect(verify(pk, msg, sig)).toBe(true);
          const other = verifiers.find(([n]) => n !== name)![1];
          sig[i]! ^= 0x40;
          expect(verify(pk, msg, sig)).toBe(other(pk, msg, sig));
        }
      });
    });
  }
});

describe("Ed25519 signers", () => {
  it("node:crypto is the default on Node and signs the RFC 8032 §7.1 vectors byte for byte", () => {
    expect(signEd25519).toBe(signEd25519Node);
    for (const v of vectors) {
      const sig = hex(v.signature);
      expect(signEd25519Node!(hex(v.secretKey), hex(v.message))).toEqual(sig);
      expect(signEd25519Noble(hex(v.secretKey), hex(v.message))).toEqual(sig);
    }
  });

  it("gives noble's bytes on random seeds and messages, and never signs with a key cached for old bytes", () => {
    const seed = new Uint8Array(32);
    for (let i = 0; i < 30; i++) {
      crypto.getRandomValues(seed); // the same array, new bytes: a cached key object must not be reused
      const msg = crypto.getRandomValues(new Uint8Array(i * 11));
      expect(signEd25519Node!(seed, msg)).toEqual(signEd25519Noble(seed, msg));
    }
    expect(() => signEd25519Node!(new Uint8Array(31), new Uint8Array(1))).toThrow(RangeError);
  });
});
