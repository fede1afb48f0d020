/**
 * Noise budgets (Decryptor.invariantNoiseBudget, bits) at the documented worst cases of each preset
 * (ADR 0030 records the figures this test prints). Every slot carries the largest value, t − 1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HeCiphertext, type HeContext, type HeKeyPair, loadHe } from "../src/index.ts";

const figures: Record<string, number> = {};
let add: HeContext;
let mul: HeContext;

beforeAll(async () => {
  const he = await loadHe();
  add = he.context("bfv-4096-add-v1");
  mul = he.context("bfv-8192-mul-v1");
});

afterAll(() => {
  console.log(`noise budgets (bits): ${JSON.stringify(figures)}`);
});

/** Encrypts `count` vectors of t − 1 under `keys` and sums them into one ciphertext. */
function sumOfMax(c: HeContext, keys: HeKeyPair, count: number): HeCiphertext {
  const max = new Array<bigint>(c.slotCount).fill(c.plainModulus - 1n);
  const acc = c.encrypt(keys.publicKey, max);
  for (let i = 1; i < count; i++) {
    using x = c.encrypt(keys.publicKey, max);
    c.addInPlace(acc, x);
  }
  return acc;
}

function record(c: HeContext, keys: HeKeyPair, name: string, ct: HeCiphertext): number {
  const b = c.noiseBudget(keys.secretKey, ct);
  figures[`${c.id} ${name}`] = b;
  return b;
}

describe("noise budget", () => {
  it("bfv-4096-add-v1: fresh, 64 and 1024 additions, scalar multiply, re-randomisation", () => {
    using keys = add.keygen();
    const t = add.plainModulus;
    using zero = add.encryptZero(keys.publicKey);
    using fresh = sumOfMax(add, keys, 1);
    using s64 = sumOfMax(add, keys, 64);
    using s1024 = sumOfMax(add, keys, 1024);
    using r64 = add.rerandomize(s64, keys.publicKey);
    using m64 = add.multiplyPlain(s64, new Array(add.slotCount).fill(1024), keys.publicKey);
    using mr64 = add.rerandomize(m64, keys.publicKey);
    expect(record(add, keys, "encrypt zero", zero)).toBeGreaterThanOrEqual(20);
    expect(record(add, keys, "encrypt t-1", fresh)).toBeGreaterThanOrEqual(20);
    expect(record(add, keys, "sum of 64", s64)).toBeGreaterThanOrEqual(16);
    expect(record(add, keys, "sum of 1024", s1024)).toBeGreaterThanOrEqual(12);
    expect(record(add, keys, "sum of 64 + rerandomize", r64)).toBeGreaterThanOrEqual(16);
    expect(record(add, keys, "sum of 64 x 1024", m64)).toBeGreaterThanOrEqual(5);
    // documented worst case: 64 ciphertexts, × the largest allowed scalar, re-randomised
    expect(record(add, keys, "sum of 64 x 1024 + rerandomize", mr64)).toBeGreaterThanOrEqual(5);
    expect(add.decrypt(keys.secretKey, mr64, { length: 1 })).toEqual([((((t - 1n) * 64n) % t) * 1024n) % t]);
    expect(add.decrypt(keys.secretKey, s1024, { length: 1 })).toEqual([((t - 1n) * 1024n) % t]);
  });

  it("bfv-8192-mul-v1: 64 additions, a full-range vector multiply, re-randomisation", () => {
    using keys = mul.keygen();
    const t = mul.plainModulus;
    using fresh = sumOfMax(mul, keys, 1);
    using s64 = sumOfMax(mul, keys, 64);
    const w = Array.from({ length: mul.slotCount }, (_, i) => (t - 1n - BigInt(i)) % t);
    using m = mul.multiplyPlain(s64, w, keys.publicKey);
    using r = mul.rerandomize(m, keys.publicKey);
    using s = mul.sum([r, r, r, r]);
    expect(record(mul, keys, "encrypt t-1", fresh)).toBeGreaterThanOrEqual(70);
    expect(record(mul, keys, "sum of 64", s64)).toBeGreaterThanOrEqual(65);
    expect(record(mul, keys, "sum of 64 x vector", m)).toBeGreaterThanOrEqual(30);
    // documented worst case: 64 ciphertexts, × any vector, re-randomised, then a few more additions
    expect(record(mul, keys, "sum of 64 x vector + rerandomize", r)).toBeGreaterThanOrEqual(30);
    expect(record(mul, keys, "... + 3 more additions", s)).toBeGreaterThanOrEqual(28);
    const got = mul.decrypt(keys.secretKey, r, { length: 5 });
    expect(got).toEqual(w.slice(0, 5).map((x) => ((((t - 1n) * 64n) % t) * x) % t));
  });

  it("bfv-4096-add-v1: a general vector multiply would exhaust the budget (why the preset refuses it)", async () => {
    // Measured on the mul preset: a full-range vector multiply costs ≈ 34–38 bits (≈ log2(N·‖p‖) with the
    // plaintext polynomial's coefficients uniform mod t), more than the 23 bits a fresh
    // bfv-4096-add-v1 ciphertext has.
    using keys = mul.keygen();
    using c = mul.encrypt(keys.publicKey, [1]);
    const before = mul.noiseBudget(keys.secretKey, c);
    using m = mul.multiplyPlain(
      c,
      Array.from({ length: mul.slotCount }, (_, i) => BigInt(i + 1)),
      keys.publicKey,
    );
    const cost = before - mul.noiseBudget(keys.secretKey, m);
    figures["vector multiply cost (bits, N=8192)"] = cost;
    expect(cost).toBeGreaterThan(23);
  });
});
