import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type HeContext, HeError, type HeKeyPair, loadHe } from "../src/index.ts";

let add: HeContext;
let mul: HeContext;
let addKeys: HeKeyPair;
let mulKeys: HeKeyPair;

beforeAll(async () => {
  const he = await loadHe();
  add = he.context("bfv-4096-add-v1");
  mul = he.context("bfv-8192-mul-v1");
  addKeys = add.keygen();
  mulKeys = mul.keygen();
});

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof HeError) return e.code;
    throw e;
  }
  return undefined;
}

describe("presets", () => {
  it("exposes slot count, t and the signed range", async () => {
    expect(add.slotCount).toBe(4096);
    expect(mul.slotCount).toBe(8192);
    expect(add.plainModulus).toBe(1073692673n); // PlainModulus.Batching(4096, 30)
    expect(add.plainModulus % 8192n).toBe(1n);
    expect(add.signedMax).toBe((add.plainModulus - 1n) / 2n);
    expect((await loadHe()).context("bfv-4096-add-v1")).toBe(add); // cached
  });

  it("refuses unknown preset ids", async () => {
    const he = await loadHe();
    expect(code(() => he.context("bfv-1024-v0" as never))).toBe("unknown-preset");
  });
});

describe("HE sums equal plaintext sums", () => {
  it("unsigned, several ciphertexts (property)", () => {
    const t = add.plainModulus;
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.bigInt({ min: 0n, max: t - 1n }), { maxLength: 200 }), {
          minLength: 1,
          maxLength: 8,
        }),
        (vectors) => {
          const cts = vectors.map((v) => add.encrypt(addKeys.publicKey, v));
          const s = add.sum(cts);
          try {
            const got = add.decrypt(addKeys.secretKey, s, { length: 200 });
            const want = Array.from(
              { length: 200 },
              (_, i) => vectors.reduce((acc, v) => acc + (v[i] ?? 0n), 0n) % t,
            );
            expect(got).toEqual(want);
          } finally {
            s.dispose();
            for (const c of cts) c.dispose();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("signed values and numbers (property)", () => {
    const m = Number(add.signedMax / 64n);
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: -m, max: m }), { maxLength: 100 }), {
          minLength: 1,
          maxLength: 6,
        }),
        (vectors) => {
          const acc = add.encrypt(addKeys.publicKey, vectors[0] ?? [], { signed: true });
          try {
            for (const v of vectors.slice(1)) {
              const c = add.encrypt(addKeys.publicKey, v, { signed: true });
              add.addInPlace(acc, c);
              c.dispose();
            }
            const got = add.decrypt(addKeys.secretKey, acc, { signed: true, length: 100 });
            const want = Array.from({ length: 100 }, (_, i) =>
              BigInt(vectors.reduce((a, v) => a + (v[i] ?? 0), 0)),
            );
            expect(got).toEqual(want);
          } finally {
            acc.dispose();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("every slot of a full vector, with addPlain", () => {
    const t = add.plainModulus;
    const a = Array.from({ length: add.slotCount }, (_, i) => (BigInt(i) * 2654435761n) % t);
    const b = Array.from({ length: add.slotCount }, (_, i) => (t - 1n - BigInt(i)) % t);
    using ca = add.encrypt(addKeys.publicKey, a);
    using cb = add.encrypt(addKeys.publicKey, b);
    using s = add.add(ca, cb);
    using p = add.addPlain(s, b);
    expect(add.decrypt(addKeys.secretKey, s)).toEqual(a.map((x, i) => (x + (b[i] as bigint)) % t));
    expect(add.decrypt(addKeys.secretKey, p)).toEqual(a.map((x, i) => (x + 2n * (b[i] as bigint)) % t));
    // inputs untouched
    expect(add.decrypt(addKeys.secretKey, ca)).toEqual(a);
  });
});

describe("multiplyPlain", () => {
  it("add preset: scalar multiply, zero gives a valid encryption of zero", () => {
    const v = Array.from({ length: 50 }, (_, i) => BigInt(i * 1000));
    using c = add.encrypt(addKeys.publicKey, v);
    using m = add.multiplyPlain(c, new Array(add.slotCount).fill(1024), addKeys.publicKey);
    expect(add.decrypt(addKeys.secretKey, m, { length: 50 })).toEqual(v.map((x) => x * 1024n));
    using z = add.multiplyPlain(c, [], addKeys.publicKey);
    expect(z.disposed).toBe(false);
    expect(add.decrypt(addKeys.secretKey, z).every((x) => x === 0n)).toBe(true);
    expect(add.noiseBudget(addKeys.secretKey, z)).toBeGreaterThan(15);
    // the zero result is a real ciphertext: it survives save/load validation (not transparent)
    using back = add.loadCiphertext(add.saveCiphertext(z));
    expect(add.decrypt(addKeys.secretKey, back, { length: 3 })).toEqual([0n, 0n, 0n]);
  });

  it("add preset: refuses vectors and large scalars (noise budget) rather than returning garbage", () => {
    using c = add.encrypt(addKeys.publicKey, [1, 2, 3]);
    expect(code(() => add.multiplyPlain(c, [1, 0, 1], addKeys.publicKey))).toBe("unsupported");
    expect(code(() => add.multiplyPlain(c, new Array(add.slotCount).fill(1025), addKeys.publicKey))).toBe(
      "unsupported",
    );
  });

  it("mul preset: slot-wise vector multiply (0/1 mask and values), including all-zero (property)", () => {
    const t = mul.plainModulus;
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: t - 1n }), { minLength: 1, maxLength: 64 }),
        fc.array(fc.bigInt({ min: 0n, max: t - 1n }), { maxLength: 64 }),
        (v, w) => {
          using c = mul.encrypt(mulKeys.publicKey, v);
          using m = mul.multiplyPlain(c, w, mulKeys.publicKey);
          const want = Array.from({ length: 64 }, (_, i) => ((v[i] ?? 0n) * (w[i] ?? 0n)) % t);
          expect(mul.decrypt(mulKeys.secretKey, m, { length: 64 })).toEqual(want);
        },
      ),
      { numRuns: 15 },
    );
    using c = mul.encrypt(mulKeys.publicKey, [5, 6, 7]);
    using z = mul.multiplyPlain(c, new Array(mul.slotCount).fill(0n), mulKeys.publicKey);
    expect(mul.decrypt(mulKeys.secretKey, z, { length: 3 })).toEqual([0n, 0n, 0n]);
    using mask = mul.multiplyPlain(c, [1, 0, 1], mulKeys.publicKey);
    expect(mul.decrypt(mulKeys.secretKey, mask, { length: 4 })).toEqual([5n, 0n, 7n, 0n]);
  });
});

describe("rerandomize", () => {
  it("decrypts the same, bytes differ from the input and from another re-randomisation", () => {
    const v = Array.from({ length: 100 }, (_, i) => i);
    using c = add.encrypt(addKeys.publicKey, v);
    using r1 = add.rerandomize(c, addKeys.publicKey);
    using r2 = add.rerandomize(c, addKeys.publicKey);
    expect(add.decrypt(addKeys.secretKey, r1, { length: 100 })).toEqual(v.map(BigInt));
    const b0 = add.saveCiphertext(c);
    const b1 = add.saveCiphertext(r1);
    const b2 = add.saveCiphertext(r2);
    expect(b1.length).toBe(b0.length);
    expect(Buffer.from(b1).equals(Buffer.from(b0))).toBe(false);
    expect(Buffer.from(b1).equals(Buffer.from(b2))).toBe(false);
    // every coefficient changed, not just a few
    let same = 0;
    for (let i = 200; i < b0.length; i += 8) if (b0[i] === b1[i] && b0[i + 1] === b1[i + 1]) same++;
    expect(same).toBeLessThan(10);
    // the input is untouched
    expect(Buffer.from(add.saveCiphertext(c)).equals(Buffer.from(b0))).toBe(true);
  });
});

describe("range checks before encoding (never reduce mod t)", () => {
  it("refuses out-of-range, non-integer and too many values", () => {
    const t = add.plainModulus;
    const pk = addKeys.publicKey;
    expect(code(() => add.encrypt(pk, [t]))).toBe("out-of-range");
    expect(code(() => add.encrypt(pk, [-1]))).toBe("out-of-range");
    expect(code(() => add.encrypt(pk, [add.signedMax + 1n], { signed: true }))).toBe("out-of-range");
    expect(code(() => add.encrypt(pk, [-add.signedMax - 1n], { signed: true }))).toBe("out-of-range");
    expect(code(() => add.encrypt(pk, [1.5]))).toBe("invalid-input");
    expect(code(() => add.encrypt(pk, [2 ** 53]))).toBe("invalid-input");
    expect(code(() => add.encrypt(pk, ["1" as never]))).toBe("invalid-input");
    expect(code(() => add.encrypt(pk, new Array(add.slotCount + 1).fill(0)))).toBe("invalid-input");
    using c = add.encrypt(pk, [add.signedMax, -add.signedMax, t - 1n - add.signedMax], { signed: true });
    expect(add.decrypt(addKeys.secretKey, c, { signed: true, length: 2 })).toEqual([
      add.signedMax,
      -add.signedMax,
    ]);
  });

  it("numbers (and typed arrays of them) encode exactly as the same bigints, at the range's edges", () => {
    const t = Number(add.plainModulus);
    const half = Number(add.signedMax);
    const pk = addKeys.publicKey;
    expect(code(() => add.encrypt(pk, [t]))).toBe("out-of-range");
    expect(code(() => add.encrypt(pk, [half + 1], { signed: true }))).toBe("out-of-range");
    expect(code(() => add.encrypt(pk, [-half - 1], { signed: true }))).toBe("out-of-range");
    expect(code(() => add.encrypt(pk, [Number.NaN]))).toBe("invalid-input");
    const unsigned = [0, 1, t - 1, -0, 123_456_789];
    using u = add.encrypt(pk, Float64Array.from(unsigned));
    expect(add.decrypt(addKeys.secretKey, u, { length: 5 })).toEqual(unsigned.map((v) => BigInt(v)));
    const signed = [half, -half, -1, 0, 1];
    using s = add.encrypt(pk, signed, { signed: true });
    using sb = add.encrypt(pk, signed.map(BigInt), { signed: true });
    expect(add.decrypt(addKeys.secretKey, s, { signed: true, length: 5 })).toEqual(signed.map(BigInt));
    expect(add.decrypt(addKeys.secretKey, sb, { signed: true, length: 5 })).toEqual(signed.map(BigInt));
    // Mixed bigint and number slots.
    using m = add.encrypt(pk, [5n, 6, 7n, t - 1]);
    expect(add.decrypt(addKeys.secretKey, m, { length: 4 })).toEqual([5n, 6n, 7n, BigInt(t - 1)]);
  });
});

describe("ownership", () => {
  it("refuses disposed objects and objects of another preset", () => {
    const kp = add.keygen();
    const c = add.encrypt(kp.publicKey, [1]);
    c.dispose();
    c.dispose(); // idempotent
    expect(c.disposed).toBe(true);
    expect(code(() => add.decrypt(kp.secretKey, c))).toBe("disposed");
    kp.dispose();
    expect(code(() => add.encrypt(kp.publicKey, [1]))).toBe("disposed");
    expect(code(() => add.savePublicKey(kp.publicKey))).toBe("disposed");
    expect(code(() => add.encrypt(mulKeys.publicKey, [1]))).toBe("preset-mismatch");
    using m = mul.encrypt(mulKeys.publicKey, [1]);
    expect(code(() => add.decrypt(addKeys.secretKey, m))).toBe("preset-mismatch");
  });

  it("secret keys save and load locally", () => {
    using c = add.encrypt(addKeys.publicKey, [42]);
    using sk = add.loadSecretKey(add.saveSecretKey(addKeys.secretKey));
    expect(add.decrypt(sk, c, { length: 1 })).toEqual([42n]);
    using other = add.keygen();
    expect(code(() => add.decrypt(other.secretKey, c))).toBe("noise-exhausted");
    expect(add.decrypt(other.secretKey, c, { checkNoise: false, length: 1 })).not.toEqual([42n]);
  });
});

describe("decryptInto (numbers, no bigint per slot)", () => {
  it("equals decrypt for every slot, at an offset, across the whole range [0, t) (property)", () => {
    const t = add.plainModulus;
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: t - 1n }), { minLength: 1, maxLength: 64 }),
        fc.integer({ min: 0, max: 100 }),
        (v, offset) => {
          const values = [...v, t - 1n, 0n];
          const ct = add.encrypt(addKeys.publicKey, values);
          try {
            const out = new Float64Array(offset + add.slotCount).fill(-1);
            add.decryptInto(addKeys.secretKey, ct, out, offset);
            expect(Array.from(out.subarray(0, offset))).toEqual(new Array(offset).fill(-1));
            expect(Array.from(out.subarray(offset), BigInt)).toEqual(add.decrypt(addKeys.secretKey, ct));
          } finally {
            ct.dispose();
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it("refuses an output too short and a preset whose plain modulus exceeds 2^32", () => {
    const ct = add.encrypt(addKeys.publicKey, [1n]);
    try {
      expect(code(() => add.decryptInto(addKeys.secretKey, ct, new Float64Array(add.slotCount), 1))).toBe(
        "invalid-input",
      );
    } finally {
      ct.dispose();
    }
    const big = mul.encrypt(mulKeys.publicKey, [1n]);
    try {
      const out = new Float64Array(mul.slotCount);
      if (mul.plainModulus >= 2n ** 32n) {
        expect(code(() => mul.decryptInto(mulKeys.secretKey, big, out))).toBe("invalid-input");
      } else {
        mul.decryptInto(mulKeys.secretKey, big, out);
        expect(out[0]).toBe(1);
      }
    } finally {
      big.dispose();
    }
  });
});
