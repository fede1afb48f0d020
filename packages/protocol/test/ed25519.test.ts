/**
 * Request-signature Ed25519 on node:crypto against noble (the audited pure-JS reference and the browser
 * path): byte-identical signatures, the same verdict on valid, tampered, non-canonical (S + L) and
 * wrong-length signatures and wrong keys.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { ed25519SignerFor, ed25519Verify, ed25519VerifyNoble, ed25519VerifyNode } from "../src/ed25519.ts";

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function addL(sig: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  s += L;
  const out = sig.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

describe("request Ed25519", () => {
  it("uses node:crypto on Node", () => {
    expect(ed25519VerifyNode).toBeTypeOf("function");
    expect(ed25519Verify).toBe(ed25519VerifyNode);
  });

  it("signs byte-identically to noble and both verifiers agree on every case", () => {
    for (let i = 0; i < 25; i++) {
      const seed = crypto.getRandomValues(new Uint8Array(32));
      const msg = crypto.getRandomValues(new Uint8Array(i * 7));
      const fast = ed25519SignerFor(seed);
      const slow = ed25519SignerFor(seed, "noble");
      expect(fast.publicKey).toEqual(slow.publicKey);
      const sig = fast.sign(msg);
      expect(sig).toEqual(slow.sign(msg));
      expect(sig).toEqual(ed25519.sign(msg, seed));
      const other = ed25519.getPublicKey(crypto.getRandomValues(new Uint8Array(32)));
      const flipped = sig.slice();
      flipped[i % 64]! ^= 1 << (i % 8);
      const cases: [Uint8Array, Uint8Array, Uint8Array, boolean][] = [
        [sig, msg, fast.publicKey, true],
        [flipped, msg, fast.publicKey, false],
        [addL(sig), msg, fast.publicKey, false],
        [sig, Uint8Array.from([...msg, 1]), fast.publicKey, false],
        [sig, msg, other, false],
        [sig.subarray(0, 63), msg, fast.publicKey, false],
        [sig, msg, fast.publicKey.subarray(1), false],
      ];
      for (const [s, m, pk, want] of cases) {
        expect(ed25519VerifyNode!(s, m, pk)).toBe(want);
        expect(ed25519VerifyNoble(s, m, pk)).toBe(want);
      }
    }
  });
});
