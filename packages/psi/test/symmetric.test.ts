/**
 * The symmetric backends (ADR 0043): both meet the external vectors (test/vectors/symmetric, SOURCE.md
 * there), agree byte for byte on random inputs, and give the same tags, label keys and sealed labels as
 * the noble-only code they replace (`hkdf(sha512, …)` once per info, `xchacha20poly1305` directly).
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bufferedRng } from "../src/bytes.ts";
import { deriveTagKeys, epochSalt, LABEL_KEY_INFO, TAG_INFO } from "../src/domain.ts";
import { LabelOpenError } from "../src/errors.ts";
import { type Label, openLabel, sealLabel } from "../src/label.ts";
import { hkdfSha512, loadSodiumSymmetric, nobleSymmetric, type SymmetricCrypto } from "../src/symmetric.ts";
import { seededRng } from "./helpers/rng.ts";
import vectorFile from "./vectors/symmetric/vectors.json" with { type: "json" };

const vectors = vectorFile as {
  xchacha20poly1305: {
    key: string;
    nonce: string;
    ad: string;
    plaintext: string;
    ciphertext: string;
    tag: string;
  }[];
  hmac: { key: string; data: string; sha256: string; sha512: string }[];
};
const sodium = await loadSodiumSymmetric();
const backends: SymmetricCrypto[] = [nobleSymmetric, sodium];
const h = hexToBytes;
const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => new Uint8Array(b));

describe.each(backends)("$name backend on external vectors", (sym) => {
  it("XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 A.3.1), and a flipped bit fails to open", () => {
    for (const v of vectors.xchacha20poly1305) {
      const sealed = sym.seal(h(v.key), h(v.nonce), h(v.ad), h(v.plaintext));
      expect(sealed).toEqual(h(v.ciphertext + v.tag));
      expect(sym.open(h(v.key), h(v.nonce), h(v.ad), sealed)).toEqual(h(v.plaintext));
      const bad = sealed.slice();
      bad[bad.length - 1]! ^= 1;
      expect(() => sym.open(h(v.key), h(v.nonce), h(v.ad), bad)).toThrow();
      expect(() => sym.open(h(v.key), h(v.nonce), h(`${v.ad}00`), sealed)).toThrow();
    }
  });

  it("HMAC-SHA256 and HMAC-SHA512 (RFC 4231, including a key longer than the block)", () => {
    for (const v of vectors.hmac) {
      expect(sym.hmacSha256(h(v.key), h(v.data))).toEqual(h(v.sha256));
      expect(sym.hmacSha512(h(v.key), h(v.data))).toEqual(h(v.sha512));
    }
  });
});

describe("libsodium WASM and noble agree byte for byte", () => {
  it("HMAC on random keys (0..300 bytes: shorter, equal to and longer than both block sizes) and messages", () => {
    fc.assert(
      fc.property(bytes(0, 300), bytes(0, 400), (key, message) => {
        expect(sodium.hmacSha256(key, message)).toEqual(nobleSymmetric.hmacSha256(key, message));
        expect(sodium.hmacSha512(key, message)).toEqual(nobleSymmetric.hmacSha512(key, message));
      }),
      { numRuns: 400 },
    );
    for (const n of [63, 64, 65, 127, 128, 129]) {
      const key = seededRng(n)(n);
      expect(sodium.hmacSha256(key, key)).toEqual(nobleSymmetric.hmacSha256(key, key));
      expect(sodium.hmacSha512(key, key)).toEqual(nobleSymmetric.hmacSha512(key, key));
    }
  });

  it("XChaCha20-Poly1305 seal and open on random keys, nonces, associated data and plaintexts", () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(24, 24), bytes(0, 200), bytes(0, 1100), (key, nonce, ad, pt) => {
        const a = sodium.seal(key, nonce, ad, pt);
        expect(a).toEqual(xchacha20poly1305(key, nonce, ad).encrypt(pt));
        expect(nobleSymmetric.open(key, nonce, ad, a)).toEqual(pt);
        expect(sodium.open(key, nonce, ad, a)).toEqual(pt);
        const bad = a.slice();
        bad[pt.length % a.length]! ^= 0x80;
        expect(() => sodium.open(key, nonce, ad, bad)).toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it("rejects keys and nonces of the wrong length", () => {
    const z = (n: number) => new Uint8Array(n);
    expect(() => sodium.seal(z(31), z(24), z(0), z(1))).toThrow(RangeError);
    expect(() => sodium.seal(z(32), z(12), z(0), z(1))).toThrow(RangeError);
    expect(() => sodium.open(z(33), z(24), z(0), z(17))).toThrow(RangeError);
    expect(() => sodium.open(z(32), z(23), z(0), z(17))).toThrow(RangeError);
    expect(() => sodium.open(z(32), z(24), z(0), z(15))).toThrow();
  });

  it("HKDF-SHA512 with one shared extract equals noble's hkdf once per info", () => {
    fc.assert(
      fc.property(
        bytes(0, 100),
        bytes(0, 100),
        bytes(0, 40),
        bytes(0, 40),
        fc.integer({ min: 1, max: 64 }),
        (ikm, salt, i1, i2, len) => {
          for (const sym of backends) {
            expect(hkdfSha512(sym, ikm, salt, [i1, i2], len)).toEqual([
              hkdf(sha512, ikm, salt, i1, len),
              hkdf(sha512, ikm, salt, i2, len),
            ]);
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(() => hkdfSha512(nobleSymmetric, new Uint8Array(64), new Uint8Array(1), [], 65)).toThrow(
      RangeError,
    );
    expect(() => hkdfSha512(nobleSymmetric, new Uint8Array(64), new Uint8Array(1), [], 0)).toThrow(
      RangeError,
    );
  });

  it("deriveTagKeys gives the tag and label key of the former two-hkdf code on both backends", () => {
    const e = { networkId: "relink-test", epoch: 7 };
    const enc = new TextEncoder();
    for (let i = 0; i < 50; i++) {
      const o = seededRng(100 + i)(64);
      const before = {
        tag: hkdf(sha512, o, epochSalt(e), enc.encode(TAG_INFO), 32),
        labelKey: hkdf(sha512, o, epochSalt(e), enc.encode(LABEL_KEY_INFO), 32),
      };
      expect(deriveTagKeys(o, e)).toEqual(before);
      expect(deriveTagKeys(o, e, sodium)).toEqual(before);
    }
  });

  it("sealed labels: the same bytes under the same nonce, and each opens what the other sealed", () => {
    const label: Label = {
      kind: "address",
      value: "北京市朝阳区建国路1号",
      firstSeen: 1_700_000_000,
      lastSeen: 1_760_000_000,
      sourceType: "transaction",
      confidence: 80,
    };
    const ctx = {
      tag: seededRng(5)(32),
      publisherRef: "record:abc",
      kind: "address",
      labelVersion: 9,
    } as const;
    const key = seededRng(6)(32);
    const a = sealLabel(key, ctx, label, seededRng(7), nobleSymmetric);
    const b = sealLabel(key, ctx, label, seededRng(7), sodium);
    expect(b).toEqual(a);
    expect(openLabel(key, ctx, a, sodium)).toEqual(label);
    expect(openLabel(key, ctx, b, nobleSymmetric)).toEqual(label);
    const t = b.slice();
    t[30]! ^= 1;
    expect(() => openLabel(key, ctx, t, sodium)).toThrow(LabelOpenError);
    expect(() => openLabel(key, { ...ctx, labelVersion: 10 }, b, sodium)).toThrow(LabelOpenError);
  });
});

describe("bufferedRng", () => {
  it("hands out the source's bytes in order, once each, one source call per block", () => {
    let calls = 0;
    const source = (n: number) => {
      calls++;
      return seededRng(calls)(n);
    };
    const rng = bufferedRng(source, 100);
    const drawn = [rng(64), rng(24), rng(12), rng(64)];
    // 64 + 24 + 12 = 100 fill the first block exactly; the next 64 open a second block.
    expect(calls).toBe(2);
    const first = seededRng(1)(100);
    expect(drawn[0]).toEqual(first.subarray(0, 64));
    expect(drawn[1]).toEqual(first.subarray(64, 88));
    expect(drawn[2]).toEqual(first.subarray(88, 100));
    expect(drawn[3]).toEqual(seededRng(2)(100).subarray(0, 64));
    // A request longer than the block goes to the source directly.
    expect(rng(101)).toEqual(seededRng(3)(101));
  });

  it("returns copies: changing one draw does not change the next", () => {
    const rng = bufferedRng(() => new Uint8Array(64).fill(7), 64);
    const a = rng(32);
    a.fill(0);
    expect(rng(32)).toEqual(new Uint8Array(32).fill(7));
  });

  it("on WebCrypto, a batch of scalars-worth of draws is all distinct", () => {
    const rng = bufferedRng();
    const seen = new Set(Array.from({ length: 3000 }, () => Buffer.from(rng(64)).toString("hex")));
    expect(seen.size).toBe(3000);
  });
});
