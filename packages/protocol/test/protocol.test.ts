import { ed25519 } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  attestConsent,
  bytesEqual,
  consentCaseCommitment,
  EncodingError,
  fromBase64Url,
  fromHex,
  hubAudience,
  keyHolderAudience,
  lengthPrefixed,
  lookupInput,
  publishBatchInput,
  registerConsentsInput,
  requestSigningMessage,
  safeText,
  toBase64Url,
  toHex,
  UNSAFE_TEXT_RE,
  verifyConsentAttestation,
} from "../src/index.ts";

const b64 = (n: number, fill = 7) => toBase64Url(new Uint8Array(n).fill(fill));

describe("byte encodings", () => {
  it("round-trips base64url and hex for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(fromBase64Url(toBase64Url(b))).toEqual(b);
        expect(fromHex(toHex(b))).toEqual(b);
      }),
    );
  });

  it("agrees with Node's lower-case hex on every input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(toHex(b)).toBe(Buffer.from(b).toString("hex"));
      }),
    );
  });

  it("agrees with Node's base64url on every input, accepting exactly the canonical spellings", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 7000 }), (b) => {
        expect(toBase64Url(b)).toBe(Buffer.from(b).toString("base64url"));
      }),
      { numRuns: 200 },
    );
    const chars = [
      ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
      "=",
      "+",
      "/",
      " ",
      "é",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 12 }), (cs) => {
        const text = cs.join("");
        const canonical =
          /^[A-Za-z0-9_-]*$/.test(text) &&
          text.length % 4 !== 1 &&
          Buffer.from(text, "base64url").toString("base64url") === text;
        if (canonical) expect(fromBase64Url(text)).toEqual(new Uint8Array(Buffer.from(text, "base64url")));
        else expect(() => fromBase64Url(text), text).toThrow(EncodingError);
      }),
      { numRuns: 5000 },
    );
  });

  it("decodes long strings (Node's native path) exactly as strictly as short ones", () => {
    const chars = ["=", "+", "/", " ", "é", "\n", "A"];
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 380, maxLength: 2000 }),
        fc.nat(),
        fc.constantFrom(...chars),
        fc.boolean(),
        (b, at, c, spoil) => {
          const good = toBase64Url(b);
          expect(good.length).toBeGreaterThanOrEqual(507);
          expect(fromBase64Url(good)).toEqual(b);
          if (!spoil) return;
          const i = at % good.length;
          const text = good.slice(0, i) + c + good.slice(i + 1);
          const canonical =
            /^[A-Za-z0-9_-]*$/.test(text) && Buffer.from(text, "base64url").toString("base64url") === text;
          if (canonical) expect(fromBase64Url(text)).toEqual(new Uint8Array(Buffer.from(text, "base64url")));
          else
            expect(() => fromBase64Url(text), text.slice(Math.max(0, i - 4), i + 4)).toThrow(EncodingError);
        },
      ),
      { numRuns: 2000 },
    );
    // Stray bits in the last character, and an impossible length, on long input.
    const long = toBase64Url(new Uint8Array(1001).fill(9)); // 1,335 characters: 3 left over
    expect(() => fromBase64Url(`${long.slice(0, -1)}B`)).toThrow(EncodingError);
    expect(() => fromBase64Url(`${long}AA`)).toThrow(EncodingError);
    // Encoding a view (offset, length) encodes just those bytes, natively or not.
    const backing = crypto.getRandomValues(new Uint8Array(3000));
    for (const [from, to] of [
      [1, 2999],
      [7, 400],
      [100, 102],
    ] as const) {
      const view = backing.subarray(from, to);
      expect(toBase64Url(view)).toBe(Buffer.from(view).toString("base64url"));
    }
    const decoded = fromBase64Url(long);
    expect(decoded.constructor).toBe(Uint8Array);
    expect(decoded.byteOffset).toBe(0);
    expect(decoded.buffer.byteLength).toBe(1001);
  });

  it("matches RFC 4648 test vectors (base64url alphabet, no padding)", () => {
    const enc = (s: string) => toBase64Url(new TextEncoder().encode(s));
    expect(["", "f", "fo", "foo", "foob", "fooba", "foobar"].map(enc)).toEqual([
      "",
      "Zg",
      "Zm8",
      "Zm9v",
      "Zm9vYg",
      "Zm9vYmE",
      "Zm9vYmFy",
    ]);
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe("-_8");
  });

  it("refuses padding, the standard alphabet, stray bits and impossible lengths", () => {
    for (const bad of ["Zg==", "+/8", "Zh", "Z", "Zm9v!", " Zg"]) {
      expect(() => fromBase64Url(bad), bad).toThrow(EncodingError);
    }
    expect(() => fromHex("ABCD")).toThrow(EncodingError);
    expect(() => fromHex("abc")).toThrow(EncodingError);
  });

  it("compares bytes in full", () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 0))).toBe(false);
  });

  it("length-prefixes so that different field lists never share an encoding", () => {
    expect(bytesEqual(lengthPrefixed("ab", "c"), lengthPrefixed("a", "bc"))).toBe(false);
    expect(bytesEqual(lengthPrefixed("abc"), lengthPrefixed("abc", ""))).toBe(false);
    expect([...lengthPrefixed("a")]).toEqual([0, 0, 0, 1, 97]);
  });
});

describe("request signing message", () => {
  const base = {
    audience: keyHolderAudience("relink.test", 1),
    method: "post",
    path: "/trpc/lookup.run",
    bodySha256: new Uint8Array(32),
    timestampMs: 1_764_140_000_000,
    nonce: new Uint8Array(16).fill(1),
    keyFingerprint: new Uint8Array(32).fill(2),
  };

  it("binds every field", () => {
    const m = requestSigningMessage(base);
    const variants = [
      { ...base, audience: keyHolderAudience("relink.test", 2) },
      { ...base, audience: hubAudience("relink.test") },
      { ...base, method: "GET" },
      { ...base, path: "/trpc/lookup.runx" },
      { ...base, bodySha256: new Uint8Array(32).fill(9) },
      { ...base, timestampMs: base.timestampMs + 1 },
      { ...base, nonce: new Uint8Array(16).fill(3) },
      { ...base, keyFingerprint: new Uint8Array(32).fill(4) },
    ];
    for (const v of variants) expect(bytesEqual(requestSigningMessage(v), m)).toBe(false);
    // The method is case-normalised: POST and post are the same request.
    expect(bytesEqual(requestSigningMessage({ ...base, method: "POST" }), m)).toBe(true);
  });

  it("refuses malformed fields", () => {
    expect(() => requestSigningMessage({ ...base, bodySha256: new Uint8Array(31) })).toThrow(RangeError);
    expect(() => requestSigningMessage({ ...base, nonce: new Uint8Array(8) })).toThrow(RangeError);
    expect(() => requestSigningMessage({ ...base, timestampMs: -1 })).toThrow(RangeError);
    expect(() => requestSigningMessage({ ...base, timestampMs: 1.5 })).toThrow(RangeError);
    expect(() => requestSigningMessage({ ...base, audience: "" })).toThrow(RangeError);
    expect(() => requestSigningMessage({ ...base, audience: "a b" })).toThrow(RangeError);
  });
});

describe("wire schemas", () => {
  const upsert = {
    tag: b64(32),
    recordId: b64(16),
    kind: "phone",
    labelVersion: 1,
    valueDigest: b64(32),
    lastSeenOn: "2026-11-01",
    sealed: b64(80),
  };

  it("accept a well-formed publish batch", () => {
    const r = publishBatchInput.safeParse({
      batchId: "6f1c4d4e-8a7b-4c3d-9e2f-0a1b2c3d4e5f",
      epoch: 1,
      upserts: [upsert],
      deletions: [],
    });
    expect(r.success).toBe(true);
  });

  it("name the field of each malformed input", () => {
    const cases: [unknown, string][] = [
      [{ ...upsert, tag: b64(31) }, "tag"],
      [{ ...upsert, tag: "not base64!" }, "tag"],
      [{ ...upsert, kind: "fax" }, "kind"],
      [{ ...upsert, sealed: b64(3000) }, "sealed"],
      [{ ...upsert, lastSeenOn: "2026-13-01" }, "lastSeenOn"],
      [{ ...upsert, labelVersion: 0 }, "labelVersion"],
      [{ ...upsert, labelVersion: 2 ** 31 }, "labelVersion"],
      [{ ...upsert, lastSeenOn: "0000-01-01" }, "lastSeenOn"],
      [{ ...upsert, lastSeenOn: "2100-01-01" }, "lastSeenOn"],
    ];
    for (const [bad, field] of cases) {
      const r = publishBatchInput.safeParse({
        batchId: "6f1c4d4e-8a7b-4c3d-9e2f-0a1b2c3d4e5f",
        epoch: 1,
        upserts: [bad],
        deletions: [],
      });
      expect(r.success, field).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(["upserts", 0, field]);
    }
    expect(
      publishBatchInput.safeParse({
        batchId: "6f1c4d4e-8a7b-4c3d-9e2f-0a1b2c3d4e5f",
        epoch: 1,
        upserts: [],
        deletions: [],
      }).success,
    ).toBe(false);
  });

  it("bound lookups and refuse consents that end before they start", () => {
    const tags = Array.from({ length: 1001 }, () => b64(32));
    expect(
      lookupInput.safeParse({ epoch: 1, purpose: "debt_collection", tags, caseCommitment: b64(32) }).success,
    ).toBe(false);
    const consent = {
      reference: "case-1",
      tag: b64(32),
      purpose: "debt_collection",
      legalBasis: "contract_performance",
      dataCategories: ["contact"],
      grantedAt: "2026-01-01T00:00:00Z",
      expiresAt: "2025-01-01T00:00:00Z",
      evidenceHash: b64(32),
      caseCommitment: b64(32, 8),
      attestation: b64(64),
    };
    const r = registerConsentsInput.safeParse({ consents: [consent] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["consents", 0, "expiresAt"]);
    expect(
      registerConsentsInput.safeParse({ consents: [{ ...consent, expiresAt: "2027-01-01T00:00:00Z" }] })
        .success,
    ).toBe(true);
  });
});

describe("member-written text (issue 15: NUL or RTL in a consent reference was a 500)", () => {
  const reference = safeText(128, "reference");
  it("refuses C0/C1 controls, NUL, lone surrogates, separators, BOM and every bidi formatting character", () => {
    const bad = [
      "\u0000",
      "\u0007",
      "\t",
      "\n",
      "\r",
      "\u001f",
      "\u007f",
      "\u0085",
      "\u009f",
      "\ud800",
      "\udfff",
      "\u2028",
      "\u2029",
      "\ufeff",
      "\u061c",
      "\u200e",
      "\u200f",
      "\u202a",
      "\u202b",
      "\u202c",
      "\u202d",
      "\u202e",
      "\u2066",
      "\u2067",
      "\u2068",
      "\u2069",
    ];
    for (const c of bad) {
      const r = reference.safeParse(`case-${c}-1`);
      expect(r.success, JSON.stringify(c)).toBe(false);
      expect(r.error?.issues[0]?.message).toMatch(/^reference: control, NUL, bidirectional-override/);
    }
  });
  it("accepts ordinary references, CJK and emoji included", () => {
    for (const ok of ["case-1", "债务人-2026-001", "D#12/3 (a)", "🙂 ref", "ref with spaces"]) {
      expect(reference.safeParse(ok).success, ok).toBe(true);
      expect(UNSAFE_TEXT_RE.test(ok)).toBe(false);
    }
  });
});

describe("consent attestations", () => {
  const secret = new Uint8Array(32).fill(5);
  const ctx = { networkId: "relink.test", memberId: "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a01" };
  const record = {
    reference: "case-1",
    tag: b64(32, 1),
    purpose: "debt_collection" as const,
    legalBasis: "consent" as const,
    dataCategories: ["employment" as const, "contact" as const],
    grantedAt: "2026-01-01T00:00:00Z",
    expiresAt: "2027-01-01T00:00:00Z",
    evidenceHash: b64(32, 2),
    caseCommitment: toBase64Url(consentCaseCommitment(new Uint8Array(32).fill(9), "debtor-1")),
  };
  it("verifies the member's signature; any changed field, context or key fails", () => {
    const pk = ed25519.getPublicKey(secret);
    const signed = attestConsent(secret, ctx, record);
    expect(verifyConsentAttestation(pk, ctx, signed)).toBe(true);
    // Categories are signed as a set: their order does not matter.
    expect(verifyConsentAttestation(pk, ctx, { ...signed, dataCategories: ["contact", "employment"] })).toBe(
      true,
    );
    // The same instant written differently is the same statement.
    expect(verifyConsentAttestation(pk, ctx, { ...signed, grantedAt: "2026-01-01T08:00:00+08:00" })).toBe(
      true,
    );
    const changed = [
      { reference: "case-2" },
      { tag: b64(32, 3) },
      { purpose: "legal_claim" as const },
      { legalBasis: "court_order" as const },
      { dataCategories: ["contact" as const] },
      { grantedAt: "2026-01-02T00:00:00Z" },
      { expiresAt: "2028-01-01T00:00:00Z" },
      { evidenceHash: b64(32, 4) },
      { caseCommitment: b64(32, 4) },
      { attestation: b64(64, 0) },
      { attestation: "not base64!" },
    ];
    for (const c of changed)
      expect(verifyConsentAttestation(pk, ctx, { ...signed, ...c }), JSON.stringify(c)).toBe(false);
    expect(verifyConsentAttestation(pk, { ...ctx, networkId: "relink.other" }, signed)).toBe(false);
    expect(
      verifyConsentAttestation(pk, { ...ctx, memberId: "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a02" }, signed),
    ).toBe(false);
    expect(verifyConsentAttestation(ed25519.getPublicKey(new Uint8Array(32).fill(6)), ctx, signed)).toBe(
      false,
    );
    // A signing function (the SDK's RequestSigner) gives the same signature as the key.
    expect(attestConsent((m) => ed25519.sign(m, secret), ctx, record)).toEqual(signed);
  });
  it("case commitments are keyed: the same case id under another member key differs", () => {
    expect(consentCaseCommitment(new Uint8Array(32).fill(9), "d-1")).not.toEqual(
      consentCaseCommitment(new Uint8Array(32).fill(8), "d-1"),
    );
    expect(() => consentCaseCommitment(new Uint8Array(16), "d-1")).toThrow(/32 bytes/);
  });
});
