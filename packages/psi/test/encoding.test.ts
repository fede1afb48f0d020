/**
 * The single-buffer encoders (ADR 0043) give the bytes of the piecewise lp/i2osp/concat code they replace:
 * the OPRF input and HKDF salt (docs/protocol/oprf.md), a label's plaintext and associated data (label.ts
 * header). The reference functions below are that former code, kept here as the oracle.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ascii, concat, i2osp, lp, utf8Encode } from "../src/bytes.ts";
import { type EpochId, epochSalt, OPRF_INPUT_DST, oprfInput } from "../src/domain.ts";
import { InvalidInputError } from "../src/errors.ts";
import {
  decodeLabel,
  encodeLabel,
  LABEL_KINDS,
  type Label,
  type LabelContext,
  labelAssociatedData,
  SOURCE_TYPES,
} from "../src/label.ts";

const refOprfInput = (e: EpochId, id: string) =>
  concat(lp(ascii(OPRF_INPUT_DST)), lp(ascii(e.networkId)), i2osp(e.epoch, 4), lp(utf8Encode(id)));
const refSalt = (e: EpochId) => concat(lp(ascii(e.networkId)), i2osp(e.epoch, 4));
const refAd = (c: LabelContext) =>
  concat(
    lp(ascii("relink/v1/label-ad")),
    i2osp(1, 1),
    lp(c.tag),
    lp(utf8Encode(c.publisherRef)),
    i2osp(LABEL_KINDS.indexOf(c.kind) + 1, 1),
    i2osp(c.labelVersion, 4),
  );
const refLabel = (l: Label) =>
  concat(
    i2osp(1, 1),
    i2osp(LABEL_KINDS.indexOf(l.kind) + 1, 1),
    lp(utf8Encode(l.value)),
    i2osp(l.firstSeen, 8),
    i2osp(l.lastSeen, 8),
    i2osp(SOURCE_TYPES.indexOf(l.sourceType) + 1, 1),
    i2osp(l.confidence, 1),
  );

const epochs = fc.record({
  networkId: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,62}$/),
  epoch: fc.integer({ min: 0, max: 0xffffffff }),
});
const text = (max: number) => fc.string({ unit: "grapheme", minLength: 1, maxLength: max });

describe("single-buffer encoders equal the former piecewise encoding", () => {
  it("OPRF input and HKDF salt, across epochs (the per-epoch cache never answers for another epoch)", () => {
    fc.assert(
      fc.property(epochs, epochs, text(200), (a, b, id) => {
        for (const e of [a, b, a]) {
          expect(oprfInput(e, id)).toEqual(refOprfInput(e, id));
          expect(epochSalt(e)).toEqual(refSalt(e));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a caller changing a returned salt does not change the next one", () => {
    const e = { networkId: "relink-test", epoch: 3 };
    epochSalt(e).fill(0);
    expect(epochSalt(e)).toEqual(refSalt(e));
  });

  it("still rejects a malformed epoch after a good one was cached", () => {
    oprfInput({ networkId: "relink-test", epoch: 1 }, "cn-id:1");
    expect(() => oprfInput({ networkId: "Relink", epoch: 1 }, "cn-id:1")).toThrow(InvalidInputError);
    expect(() => oprfInput({ networkId: "relink-test", epoch: -1 }, "cn-id:1")).toThrow(InvalidInputError);
    expect(() => oprfInput(null as unknown as EpochId, "cn-id:1")).toThrow(InvalidInputError);
    expect(() => epochSalt({ networkId: "relink-test", epoch: 2 ** 32 })).toThrow(InvalidInputError);
  });

  it("label plaintext and associated data", () => {
    const labels = fc.record({
      kind: fc.constantFrom(...LABEL_KINDS),
      value: text(300),
      firstSeen: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      span: fc.integer({ min: 0, max: 2 ** 40 }),
      sourceType: fc.constantFrom(...SOURCE_TYPES),
      confidence: fc.integer({ min: 0, max: 100 }),
      tag: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      ref: fc.string({ minLength: 1, maxLength: 40 }),
      labelVersion: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(
      fc.property(labels, (r) => {
        const l: Label = {
          kind: r.kind,
          value: r.value,
          firstSeen: r.firstSeen,
          lastSeen: Math.min(Number.MAX_SAFE_INTEGER, r.firstSeen + r.span),
          sourceType: r.sourceType,
          confidence: r.confidence,
        };
        const c: LabelContext = {
          tag: r.tag,
          publisherRef: r.ref,
          kind: r.kind,
          labelVersion: r.labelVersion,
        };
        expect(encodeLabel(l)).toEqual(refLabel(l));
        expect(decodeLabel(encodeLabel(l))).toEqual(l);
        expect(labelAssociatedData(c)).toEqual(refAd(c));
      }),
      { numRuns: 500 },
    );
  });
});
