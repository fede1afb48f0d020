/**
 * Every refusal of hostile public keys and ciphertexts (product brief, Threats: "malicious keys and
 * ciphertexts"). Each test builds the attack and checks the typed error; a fuzz test checks that no mutated
 * input escapes as anything but an HeError.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type HeContext, HeError, type HeKeyPair, loadHe } from "../src/index.ts";
import {
  dataOf,
  foreignCiphertext,
  fullPublicKey,
  payloadOf,
  rewrap,
  smallPolyNtt,
  withData,
  withSize,
} from "./helpers.ts";

const ADD = "bfv-4096-add-v1";
let add: HeContext;
let mul: HeContext;
let keys: HeKeyPair;
let pkBytes: Uint8Array;
let pkFull: Uint8Array;
let ctBytes: Uint8Array;

beforeAll(async () => {
  const he = await loadHe();
  add = he.context(ADD);
  mul = he.context("bfv-8192-mul-v1");
  keys = add.keygen();
  pkBytes = add.savePublicKey(keys.publicKey);
  pkFull = await fullPublicKey(ADD, pkBytes);
  using ct = add.encrypt(keys.publicKey, [1, 2, 3]);
  ctBytes = add.saveCiphertext(ct);
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

/** "code: message" of the HeError thrown by f. */
function message(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof HeError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return undefined;
}

const N = 4096;
/** Key data layout: poly b (limbs q0, q1), then poly a (limbs q0, q1), N coefficients each. */
const limb = (poly: number, l: number) => (poly * 2 + l) * N;

describe("public keys", () => {
  it("accepts honest keys in seeded and full form, and they work", () => {
    for (const bytes of [pkBytes, rewrap("publicKey", ADD, pkFull)]) {
      using pk = add.loadPublicKey(bytes);
      using c = add.encrypt(pk, [7, 8]);
      expect(add.decrypt(keys.secretKey, c, { length: 2 })).toEqual([7n, 8n]);
    }
  });

  it("builds a loaded key's first encryption from its validation probe, once; every encryption is fresh and right", () => {
    using pk = add.loadPublicKey(pkBytes);
    using first = add.encrypt(pk, [7, 8]);
    // The probe is spent: the next encryptions are SEAL's own.
    expect(pk.takeSpareZero()).toBeUndefined();
    using second = add.encrypt(pk, [7, 8]);
    using zero = add.encryptZero(pk);
    for (const c of [first, second]) expect(add.decrypt(keys.secretKey, c, { length: 2 })).toEqual([7n, 8n]);
    expect(add.decrypt(keys.secretKey, zero, { length: 2 })).toEqual([0n, 0n]);
    const [a, b] = [add.saveCiphertext(first), add.saveCiphertext(second)];
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).not.toBe(0);
    // What the hub checks of every submission holds for the probe-built ciphertext too.
    add.loadCiphertext(a).dispose();
    // Re-randomising with a freshly loaded key spends that key's probe as the encryption of zero.
    using again = add.loadPublicKey(pkBytes);
    using fresh = add.rerandomize(first, again);
    expect(again.takeSpareZero()).toBeUndefined();
    expect(add.decrypt(keys.secretKey, fresh, { length: 2 })).toEqual([7n, 8n]);
    expect(Buffer.compare(Buffer.from(add.saveCiphertext(fresh)), Buffer.from(a))).not.toBe(0);
    // A generated key has no probe; a loaded key never used frees its probe on dispose.
    expect(keys.publicKey.takeSpareZero()).toBeUndefined();
    const unused = add.loadPublicKey(pkBytes);
    unused.dispose();
    expect(() => unused.takeSpareZero()).toThrow(HeError);
  });

  it("does not reject honest keys (false-rejection check over fresh keys)", () => {
    for (let i = 0; i < 10; i++) {
      using kp = add.keygen();
      using pk = add.loadPublicKey(add.savePublicKey(kp.publicKey));
      expect(pk.preset).toBe(ADD);
    }
    using kp = mul.keygen();
    using pk = mul.loadPublicKey(mul.savePublicKey(kp.publicKey));
    expect(pk.preset).toBe("bfv-8192-mul-v1");
  });

  it("refuses another preset's key, another kind and an unknown envelope", () => {
    using other = mul.keygen();
    const mulPk = mul.savePublicKey(other.publicKey);
    expect(code(() => add.loadPublicKey(mulPk))).toBe("oversize"); // larger than any 4096 key: refused unparsed
    expect(code(() => add.loadPublicKey(rewrap("publicKey", "bfv-8192-mul-v1", payloadOf(pkBytes))))).toBe(
      "preset-mismatch",
    );
    expect(code(() => add.loadPublicKey(ctBytes))).toBe("wrong-kind");
    expect(code(() => add.loadPublicKey(new Uint8Array(0)))).toBe("malformed");
    expect(code(() => add.loadPublicKey("abc" as never))).toBe("malformed");
  });

  it("refuses oversize input before parsing", () => {
    expect(code(() => add.loadPublicKey(new Uint8Array(10_000_000)))).toBe("oversize");
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, new Uint8Array(pkFull.length + 8))))).toBe(
      "oversize",
    );
  });

  it("refuses keys of the wrong size or parameters", () => {
    // 8 bytes short, header size adjusted: neither the seeded nor the full size of a 4096 key
    const short = payloadOf(pkBytes).slice(0, -8);
    new DataView(short.buffer).setBigUint64(8, BigInt(short.length), true);
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, short)))).toBe("wrong-parameters");
    // a data-level (ciphertext-shaped) key: parms_id / modulus count differ
    const parms = Uint8Array.from(pkFull);
    parms[20] = (parms[20] ?? 0) ^ 1;
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, parms)))).toBe("wrong-parameters");
    const notNtt = Uint8Array.from(pkFull);
    notNtt[48] = 0;
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, notNtt)))).toBe("wrong-parameters");
  });

  it("refuses malformed bytes", () => {
    const badMagic = payloadOf(pkBytes);
    badMagic[0] = 0;
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, badMagic)))).toBe("malformed");
    const compressed = payloadOf(pkBytes);
    compressed[5] = 2; // zstd
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, compressed)))).toBe("malformed");
    const env = Uint8Array.from(pkBytes);
    env[4] = 9; // envelope version
    expect(code(() => add.loadPublicKey(env))).toBe("malformed");
    // a coefficient ≥ q: refused in JS before SEAL sees it
    const big = dataOf(pkFull);
    big[5] = 0xffff_ffff_ffff_fff0n;
    expect(message(() => add.loadPublicKey(rewrap("publicKey", ADD, withData(pkFull, big))))).toMatch(
      /^malformed: coefficient not reduced/,
    );
    // seeded key whose PRNG type (before the 64-byte seed) is unknown
    const seeded = payloadOf(pkBytes);
    seeded[seeded.length - 65] = 0x7f;
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, seeded)))).toBe("malformed");
  });

  it("refuses the all-zero key and a key with one zero polynomial", () => {
    const zero = new BigUint64Array(4 * N);
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, withData(pkFull, zero))))).toBe("zero-key");
    const bZero = dataOf(pkFull);
    bZero.fill(0n, 0, 2 * N);
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, withData(pkFull, bZero))))).toBe("zero-key");
    const limbZero = dataOf(pkFull);
    limbZero.fill(0n, limb(0, 1), limb(0, 1) + N);
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, withData(pkFull, limbZero))))).toBe(
      "zero-key",
    );
  });

  it("refuses low-entropy keys: mostly zero, repeated, small in the coefficient domain", () => {
    const mostlyZero = dataOf(pkFull);
    for (let i = 0; i < 2 * N; i++) if (i % 10 !== 0) mostlyZero[i] = 0n;
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, withData(pkFull, mostlyZero))))).toBe(
      "low-entropy-key",
    );
    const repeated = dataOf(pkFull);
    for (let i = 0; i < N; i++) repeated[limb(0, 0) + i] = repeated[limb(0, 0) + (i % 64)] as bigint;
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, withData(pkFull, repeated))))).toBe(
      "low-entropy-key",
    );
    const constant = dataOf(pkFull);
    constant.fill(12345n, limb(1, 0), limb(1, 0) + N);
    expect(code(() => add.loadPublicKey(rewrap("publicKey", ADD, withData(pkFull, constant))))).toBe(
      "low-entropy-key",
    );
  });

  it("refuses a key whose b is small in the coefficient domain (uniform-looking in NTT form)", async () => {
    // b = NTT(small poly): every NTT-domain check passes; only the probe encryption shows c0 carries no
    // mask (after SEAL divides by the special prime it is zero), i.e. ciphertexts under this key are
    // readable without the secret key.
    const small = await smallPolyNtt(ADD);
    const data = dataOf(pkFull);
    data.set(small, 0);
    const e = (() => {
      try {
        add.loadPublicKey(rewrap("publicKey", ADD, withData(pkFull, data)));
      } catch (err) {
        return err as HeError;
      }
    })();
    expect(e?.code).toBe("low-entropy-key");
    expect(e?.message).toMatch(/c0: (small|zero)/);
  });
});

describe("ciphertexts", () => {
  it("accepts an honest ciphertext and round-trips it byte-exactly", () => {
    using c = add.loadCiphertext(ctBytes);
    expect(add.decrypt(keys.secretKey, c, { length: 3 })).toEqual([1n, 2n, 3n]);
    expect(Buffer.from(add.saveCiphertext(c)).equals(Buffer.from(ctBytes))).toBe(true);
  });

  it("refuses another preset's ciphertext, another kind and oversize input", () => {
    using kp = mul.keygen();
    using m = mul.encrypt(kp.publicKey, [1]);
    const mulCt = mul.saveCiphertext(m);
    expect(code(() => add.loadCiphertext(mulCt))).toBe("oversize");
    expect(code(() => add.loadCiphertext(rewrap("ciphertext", "bfv-8192-mul-v1", payloadOf(ctBytes))))).toBe(
      "preset-mismatch",
    );
    expect(code(() => add.loadCiphertext(pkBytes))).toBe("oversize"); // a key is larger than a ciphertext
    expect(code(() => add.loadCiphertext(rewrap("publicKey", ADD, payloadOf(ctBytes))))).toBe("wrong-kind");
    expect(code(() => add.loadCiphertext(new Uint8Array(1 << 24)))).toBe("oversize");
    const size3 = withSize(payloadOf(ctBytes), 3);
    expect(code(() => add.loadCiphertext(rewrap("ciphertext", ADD, size3)))).toBe("oversize");
  });

  it("refuses wrong parameters: parms_id of other parameters, size ≠ 2, NTT form", async () => {
    // same N and moduli, other plain modulus: same byte size, different parms_id
    const foreign = await foreignCiphertext(ADD, 20);
    expect(foreign.length).toBe(ctBytes.length);
    expect(code(() => add.loadCiphertext(foreign))).toBe("wrong-parameters");
    const size1 = withSize(payloadOf(ctBytes), 1);
    expect(code(() => add.loadCiphertext(rewrap("ciphertext", ADD, size1)))).toBe("wrong-parameters");
    const ntt = payloadOf(ctBytes);
    ntt[48] = 1;
    expect(code(() => add.loadCiphertext(rewrap("ciphertext", ADD, ntt)))).toBe("wrong-parameters");
    const scale = payloadOf(ctBytes);
    scale[80] = 0x41; // scale 1.0 → another double
    expect(code(() => add.loadCiphertext(rewrap("ciphertext", ADD, scale)))).toBe("wrong-parameters");
  });

  it("refuses malformed bytes", () => {
    expect(code(() => add.loadCiphertext(ctBytes.slice(0, 100)))).toBe("malformed");
    expect(code(() => add.loadCiphertext(ctBytes.slice(0, 5)))).toBe("malformed");
    const trunc = payloadOf(ctBytes).slice(0, -8);
    new DataView(trunc.buffer).setBigUint64(8, BigInt(trunc.length), true);
    expect(code(() => add.loadCiphertext(rewrap("ciphertext", ADD, trunc)))).toBe("malformed");
    const count = payloadOf(ctBytes);
    new DataView(count.buffer).setBigUint64(105, 1n << 40n, true);
    expect(code(() => add.loadCiphertext(rewrap("ciphertext", ADD, count)))).toBe("malformed");
    const big = dataOf(payloadOf(ctBytes));
    big[N + 3] = (1n << 64n) - 1n; // ≥ q: refused in JS before SEAL sees it
    expect(
      message(() => add.loadCiphertext(rewrap("ciphertext", ADD, withData(payloadOf(ctBytes), big)))),
    ).toMatch(/^malformed: coefficient not reduced/);
    const random = new Uint8Array(ctBytes.length);
    for (let i = 0; i < random.length; i++) random[i] = (i * 131 + 7) & 0xff;
    expect(code(() => add.loadCiphertext(random))).toBe("malformed");
  });

  it("refuses transparent and near-transparent ciphertexts", () => {
    const transparent = dataOf(payloadOf(ctBytes));
    transparent.fill(0n, N); // c1 = 0: c0 is the plaintext in the clear (scaled)
    expect(
      code(() => add.loadCiphertext(rewrap("ciphertext", ADD, withData(payloadOf(ctBytes), transparent)))),
    ).toBe("transparent-ciphertext");
    const nearly = dataOf(payloadOf(ctBytes));
    for (let i = N; i < 2 * N; i++) if (i % 50 !== 0) nearly[i] = 0n;
    expect(
      code(() => add.loadCiphertext(rewrap("ciphertext", ADD, withData(payloadOf(ctBytes), nearly)))),
    ).toBe("transparent-ciphertext");
  });

  it("never throws anything but an HeError on mutated input, and SEAL never sees it (fuzz)", () => {
    let reachedSeal = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: -200, max: 8 }),
        (edits, lengthDelta) => {
          const b = Uint8Array.from(
            ctBytes.subarray(0, Math.min(ctBytes.length, ctBytes.length + lengthDelta)),
          );
          for (const [pos, val] of edits) b[pos % Math.min(b.length, 200)] = val;
          try {
            add.loadCiphertext(b).dispose();
          } catch (e) {
            expect(e).toBeInstanceOf(HeError);
            if ((e as HeError).message.includes("by SEAL")) reachedSeal++;
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(reachedSeal).toBe(0);
  });

  it("never throws anything but an HeError on mutated public keys, and SEAL never sees them (fuzz)", () => {
    let reachedSeal = 0;
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (pos, val) => {
        const b = Uint8Array.from(pkBytes);
        b[pos % b.length] = val;
        try {
          add.loadPublicKey(b).dispose();
        } catch (e) {
          expect(e).toBeInstanceOf(HeError);
          if ((e as HeError).message.includes("by SEAL")) reachedSeal++;
        }
      }),
      { numRuns: 60 },
    );
    expect(reachedSeal).toBe(0);
  });
});

describe("entropy criterion", () => {
  it("accepts uniform limbs, refuses zero, repeated, small and hash-clustered ones in linear time", async () => {
    const { limbVerdict } = await import("../src/entropy.ts");
    const q = (1n << 60n) - 93n;
    const n = 4096;
    const uniform = () => {
      const v = new BigUint64Array(n);
      crypto.getRandomValues(v);
      return v.map((x) => x % q);
    };
    expect(limbVerdict(uniform(), q)).toBe("ok");
    expect(limbVerdict(new BigUint64Array(n), q)).toBe("zero");
    const rep = uniform();
    for (let i = 0; i < 17; i++) rep[i] = rep[100] as bigint;
    expect(limbVerdict(rep, q)).toBe("repeated");
    const fewRep = uniform();
    for (let i = 0; i < 10; i++) fewRep[i] = fewRep[100] as bigint;
    expect(limbVerdict(fewRep, q)).toBe("ok"); // within the slack
    const small = uniform();
    for (let i = 0; i < n / 8; i++) small[i] = BigInt(i + 1);
    expect(limbVerdict(small, q)).toBe("small");
    const negSmall = uniform();
    for (let i = 0; i < n / 8; i++) negSmall[i] = q - BigInt(i + 1);
    expect(limbVerdict(negSmall, q)).toBe("small");
    // distinct values whose low words all hash to the start of the table: lo = k · φ^-1 mod 2^32, so that
    // lo · φ = k is small (φ = 0x9e3779b1 is the multiplier in entropy.ts)
    const phi = 0x9e3779b1n;
    let inv = phi;
    for (let i = 0; i < 5; i++) inv = (inv * (2n - phi * inv)) & 0xffffffffn;
    const clustered = uniform().map((x, i) => ((x >> 32n) << 32n) | ((BigInt(i + 1) * inv) & 0xffffffffn));
    const t0 = performance.now();
    expect(limbVerdict(clustered, q)).toBe("repeated");
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
