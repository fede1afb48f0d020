import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { describe, expect, it } from "vitest";
import { InvalidLabelError, LabelOpenError } from "../src/errors.ts";
import {
  decodeLabel,
  encodeLabel,
  type Label,
  type LabelContext,
  labelAssociatedData,
  MAX_LABEL_PLAINTEXT_BYTES,
  openLabel,
  sealLabel,
} from "../src/label.ts";
import { seededRng } from "./helpers/rng.ts";

const key = seededRng(1)(32);
const ctx: LabelContext = {
  tag: seededRng(2)(32),
  publisherRef: "bank-042",
  kind: "phone",
  labelVersion: 3,
};
const label: Label = {
  kind: "phone",
  value: "+8613800138000",
  firstSeen: 1_700_000_000,
  lastSeen: 1_760_000_000,
  sourceType: "collection-contact",
  confidence: 87,
};

describe("label sealing (XChaCha20-Poly1305)", () => {
  const sealed = sealLabel(key, ctx, label, seededRng(3));

  it("round-trips and the encoding is canonical", () => {
    expect(openLabel(key, ctx, sealed)).toEqual(label);
    expect(decodeLabel(encodeLabel(label))).toEqual(label);
    expect(sealed.length).toBe(1 + 24 + encodeLabel(label).length + 16);
    // a fresh nonce each time
    expect(sealLabel(key, ctx, label)).not.toEqual(sealLabel(key, ctx, label));
  });

  it("every flipped byte of the sealed label fails to open with a typed error", () => {
    for (let i = 0; i < sealed.length; i++) {
      const t = sealed.slice();
      t[i]! ^= 0x01 << (i % 8);
      expect(() => openLabel(key, ctx, t), `byte ${i}`).toThrow(LabelOpenError);
    }
    expect(() => openLabel(key, ctx, sealed.subarray(0, sealed.length - 1))).toThrow(LabelOpenError);
    expect(() => openLabel(key, ctx, new Uint8Array(10))).toThrow(LabelOpenError);
  });

  it("any associated-data mismatch or wrong key fails to open", () => {
    const wrong: LabelContext[] = [
      { ...ctx, tag: seededRng(9)(32) },
      { ...ctx, publisherRef: "bank-043" },
      { ...ctx, kind: "email" },
      { ...ctx, labelVersion: 4 },
    ];
    for (const w of wrong) expect(() => openLabel(key, w, sealed)).toThrow(LabelOpenError);
    expect(() => openLabel(seededRng(8)(32), ctx, sealed)).toThrow(LabelOpenError);
  });

  it("validates labels when sealing and when opening", () => {
    const bad: Partial<Label>[] = [
      { value: "" },
      { value: "x".repeat(1025) },
      { confidence: 101 },
      { confidence: 1.5 },
      { lastSeen: 1 },
      { firstSeen: -1 },
      { sourceType: "rumour" as never },
      { value: "\ud800" },
    ];
    for (const b of bad)
      expect(() => sealLabel(key, ctx, { ...label, ...b }), JSON.stringify(b)).toThrow(InvalidLabelError);
    expect(() => sealLabel(key, ctx, { ...label, kind: "email" })).toThrow(InvalidLabelError);
    const enc = encodeLabel(label);
    expect(() => decodeLabel(new Uint8Array([...enc, 0]))).toThrow(InvalidLabelError);
    expect(() => decodeLabel(new Uint8Array(MAX_LABEL_PLAINTEXT_BYTES + 1))).toThrow(InvalidLabelError);
    const badVersion = enc.slice();
    badVersion[0] = 2;
    expect(() => decodeLabel(badVersion)).toThrow(InvalidLabelError);
  });

  it("an authentic but malformed plaintext (buggy or hostile publisher) is a typed error, not a crash", () => {
    const nonce = seededRng(4)(24);
    for (const pt of [
      new Uint8Array([1, 1, 0, 200, 1]),
      new Uint8Array(0),
      encodeLabel({ ...label, kind: "email" }),
    ]) {
      const ct = xchacha20poly1305(key, nonce, labelAssociatedData(ctx)).encrypt(pt);
      const sealedBad = new Uint8Array([1, ...nonce, ...ct]);
      expect(() => openLabel(key, ctx, sealedBad)).toThrow(InvalidLabelError);
    }
  });
});
