import { chacha20 } from "@noble/ciphers/chacha.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HeError } from "../src/errors.ts";
import {
  applyMask,
  type MaskParticipant,
  type MaskRound,
  maskKeyPair,
  nobleKeystream,
  nodeKeystream,
  pairMask,
  pairMaskWords,
  pairSeed,
  zeroSumMask,
  zeroSumMaskWords,
} from "../src/masks.ts";

const t = 1_073_692_673n;
const round = { queryId: "q-1", round: 1, modulus: t, length: 512 };

function party(id: string, seedByte: number) {
  const keys = maskKeyPair(new Uint8Array(32).fill(seedByte));
  return { id, ...keys };
}

describe("pairwise zero-sum masks", () => {
  it("cancel over the participants, for any number of them and any values", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 200 }), (n, length) => {
        const ps = Array.from({ length: n }, (_, i) => party(`m-${i}`, i + 1));
        const pub = ps.map((p) => ({ id: p.id, publicKey: p.publicKey }));
        const r = { ...round, length };
        const values = ps.map((_, i) => Array.from({ length }, (_, s) => BigInt((i * 1000 + s) % 5000)));
        const masked = ps.map((p, i) => applyMask(values[i]!, zeroSumMask(p.secretKey, p.id, pub, r), t));
        for (let s = 0; s < length; s++) {
          const sum = masked.reduce((acc, v) => (acc + v[s]!) % t, 0n);
          const plain = values.reduce((acc, v) => acc + v[s]!, 0n);
          expect(sum).toBe(plain % t);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("derive the same pair seed from both sides, and another per query, round and pair", () => {
    const a = party("a", 1);
    const b = party("b", 2);
    const c = party("c", 3);
    const ab = pairSeed(a.secretKey, "a", { id: "b", publicKey: b.publicKey }, round);
    expect(pairSeed(b.secretKey, "b", { id: "a", publicKey: a.publicKey }, round)).toEqual(ab);
    expect(
      pairSeed(a.secretKey, "a", { id: "b", publicKey: b.publicKey }, { ...round, round: 2 }),
    ).not.toEqual(ab);
    expect(
      pairSeed(a.secretKey, "a", { id: "b", publicKey: b.publicKey }, { ...round, queryId: "q-2" }),
    ).not.toEqual(ab);
    expect(pairSeed(a.secretKey, "a", { id: "c", publicKey: c.publicKey }, round)).not.toEqual(ab);
  });

  it("make one participant's masked vector look uniform in [0, t) even when its values are all zero", () => {
    const ps = [party("a", 1), party("b", 2), party("c", 3)];
    const pub = ps.map((p) => ({ id: p.id, publicKey: p.publicKey }));
    const n = 20_000;
    const masked = applyMask(
      new Array(n).fill(0n),
      zeroSumMask(ps[0]!.secretKey, "a", pub, { ...round, length: n }),
      t,
    );
    // Chi-squared test over 20 equal bins: 19 degrees of freedom, 99.9% critical value 43.8.
    const bins = new Array(20).fill(0);
    for (const v of masked) bins[Number((v * 20n) / t)]++;
    const expected = n / 20;
    const chi2 = bins.reduce((acc, o) => acc + (o - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(43.8);
    // And it is not the plaintext: the values are zeros, the masked vector is not.
    expect(masked.filter((v) => v === 0n).length).toBeLessThan(5);
  });

  it("stream values are uniform in [0, t) and deterministic per seed", () => {
    const seed = new Uint8Array(32).fill(9);
    const m1 = pairMask(seed, { ...round, length: 1000 });
    expect(pairMask(seed, { ...round, length: 1000 })).toEqual(m1);
    expect([...m1].every((v) => v < t)).toBe(true);
    // A longer stream starts with the shorter one.
    expect([...pairMask(seed, { ...round, length: 2000 })].slice(0, 1000)).toEqual([...m1]);
  });

  it("refuse low-order keys, wrong sizes, duplicates and a participant not in the round", () => {
    const a = party("a", 1);
    const b = party("b", 2);
    const zero = { id: "z", publicKey: new Uint8Array(32) };
    expect(() => pairSeed(a.secretKey, "a", zero, round)).toThrow(HeError);
    expect(() => pairSeed(a.secretKey, "a", { id: "x", publicKey: new Uint8Array(31) }, round)).toThrow(
      HeError,
    );
    const pub = [
      { id: "a", publicKey: a.publicKey },
      { id: "b", publicKey: b.publicKey },
    ];
    expect(() => zeroSumMask(a.secretKey, "a", [...pub, pub[1]!], round)).toThrow(/duplicate/);
    expect(() => zeroSumMask(a.secretKey, "c", pub, round)).toThrow(/not in the round/);
    expect(() => applyMask([t], new BigUint64Array(1), t)).toThrow(HeError);
  });
});

// The bigint implementation the number-typed path replaced, kept verbatim as the reference.
function referencePairMask(seed: Uint8Array, round: MaskRound): BigUint64Array {
  const t = Number(round.modulus);
  const out = new BigUint64Array(round.length);
  const nonce = new Uint8Array(12);
  let filled = 0;
  let counter = 0;
  while (filled < round.length) {
    const words = Math.max(64, Math.ceil((round.length - filled) * 1.01) + 16);
    const block = chacha20(seed, nonce, new Uint8Array(words * 4), undefined, counter);
    counter += Math.ceil((words * 4) / 64);
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    for (let w = 0; w < words && filled < round.length; w++) {
      const v = view.getUint32(w * 4, true) & 0x3fffffff;
      if (v < t) out[filled++] = BigInt(v);
    }
  }
  return out;
}

function referenceZeroSumMask(
  mySecret: Uint8Array,
  me: string,
  participants: readonly MaskParticipant[],
  round: MaskRound,
): BigUint64Array {
  const t = round.modulus;
  const total = new BigUint64Array(round.length);
  for (const other of participants) {
    if (other.id === me) continue;
    const m = referencePairMask(pairSeed(mySecret, me, other, round), round);
    const add = me < other.id;
    for (let s = 0; s < round.length; s++) {
      const cur = total[s]!;
      total[s] = add ? (cur + m[s]!) % t : (cur + t - m[s]!) % t;
    }
  }
  return total;
}

describe("number-typed masks (no bigint per slot)", () => {
  // Moduli from 2^29 + 1 (about half of the words rejected: several keystream calls, the counter
  // advancing) to 2^30. (Far smaller moduli reject almost every 30-bit word; masks use t ≈ 2^30.)
  const modulus = fc.oneof(
    fc.constant(t),
    fc.constant(1n << 30n),
    fc.bigInt({ min: (1n << 29n) + 1n, max: 1n << 30n }),
    fc.bigInt({ min: (1n << 29n) + 1n, max: (1n << 29n) + 5000n }),
  );

  it("pairMaskWords and pairMask give exactly the reference stream, with either keystream", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 3000 }),
        modulus,
        (seed, length, m) => {
          const r = { ...round, modulus: m, length };
          const ref = referencePairMask(seed, r);
          expect(Array.from(pairMaskWords(seed, r), BigInt)).toEqual(Array.from(ref));
          expect(Array.from(pairMaskWords(seed, r, nobleKeystream), BigInt)).toEqual(Array.from(ref));
          expect(pairMask(seed, r)).toEqual(ref);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("node:crypto's ChaCha20 keystream is noble's (RFC 8439), at any counter and length", () => {
    expect(nodeKeystream).toBeDefined();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 2000 }),
        (key, counter, bytes) => {
          expect(Uint8Array.from(nodeKeystream!(key, counter, bytes))).toEqual(
            nobleKeystream(key, counter, bytes),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("zeroSumMaskWords and zeroSumMask are the reference bigint mask for every participant", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 0, max: 1500 }),
        modulus,
        fc.integer({ min: 1, max: 200 }),
        (n, length, m, salt) => {
          const ps = Array.from({ length: n }, (_, i) => party(`m-${(i * 7 + salt) % 97}-${i}`, salt + i));
          const pub = ps.map((p) => ({ id: p.id, publicKey: p.publicKey }));
          const r = { queryId: `q-${salt}`, round: 1 + (salt % 3), modulus: m, length };
          for (const p of ps) {
            const ref = referenceZeroSumMask(p.secretKey, p.id, pub, r);
            expect(Array.from(zeroSumMaskWords(p.secretKey, p.id, pub, r), BigInt)).toEqual(Array.from(ref));
            expect(zeroSumMask(p.secretKey, p.id, pub, r)).toEqual(ref);
            // A keystream in a buffer not aligned to 4 bytes (as pooled Buffers can be) reads the same.
            const unaligned = (key: Uint8Array, counter: number, bytes: number) => {
              const b = new Uint8Array(bytes + 1);
              b.set(nobleKeystream(key, counter, bytes), 1);
              return b.subarray(1);
            };
            expect(Array.from(zeroSumMaskWords(p.secretKey, p.id, pub, r, unaligned), BigInt)).toEqual(
              Array.from(ref),
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("the cached X25519 secret follows the secret key's bytes, and low-order keys stay refused", () => {
    const a = party("a", 1);
    const b = party("b", 2);
    const other = { id: "b", publicKey: b.publicKey };
    const secret = Uint8Array.from(a.secretKey);
    const s1 = pairSeed(secret, "a", other, round);
    expect(pairSeed(secret, "a", other, round)).toEqual(s1); // cached
    expect(pairSeed(Uint8Array.from(secret), "a", other, round)).toEqual(s1); // uncached
    secret[5]! ^= 1; // the same array, other bytes: another key (byte 0 would be clamped), another seed
    const s2 = pairSeed(secret, "a", other, round);
    expect(s2).not.toEqual(s1);
    expect(pairSeed(Uint8Array.from(secret), "a", other, round)).toEqual(s2);
    const zero = { id: "z", publicKey: new Uint8Array(32) };
    expect(() => pairSeed(secret, "a", zero, round)).toThrow(HeError);
    expect(() => pairSeed(secret, "a", zero, round)).toThrow(HeError);
  });
});
