import { describe, expect, it } from "vitest";
import { toHex } from "../src/bytes.ts";
import { deriveTagKeys, oprfInput } from "../src/domain.ts";
import { InvalidInputError } from "../src/errors.ts";

const E = { networkId: "relink-test", epoch: 1 };

describe("epoch-bound OPRF inputs and tag keys", () => {
  it("length-prefixes every field so no two (network, epoch, identifier) share an input", () => {
    const a = oprfInput(E, "cn-id:1");
    expect(toHex(a)).toBe(
      // lp("relink/v1/oprf-input") lp("relink-test") I2OSP(1,4) lp("cn-id:1")
      "0014" +
        toHex(new TextEncoder().encode("relink/v1/oprf-input")) +
        "000b" +
        toHex(new TextEncoder().encode("relink-test")) +
        "00000001" +
        "0007" +
        toHex(new TextEncoder().encode("cn-id:1")),
    );
    const set = new Set(
      [
        oprfInput(E, "cn-id:1"),
        oprfInput({ ...E, epoch: 2 }, "cn-id:1"),
        oprfInput({ networkId: "relink-tes", epoch: 1 }, "tcn-id:1"),
        oprfInput({ networkId: "relink-test1", epoch: 1 }, "cn-id:1"),
      ].map(toHex),
    );
    expect(set.size).toBe(4);
  });

  it("rejects malformed network ids, epochs and identifiers", () => {
    for (const e of [
      { networkId: "", epoch: 1 },
      { networkId: "Relink", epoch: 1 },
      { networkId: "r", epoch: -1 },
      { networkId: "r", epoch: 2 ** 32 },
      { networkId: "r", epoch: 1.5 },
    ]) {
      expect(() => oprfInput(e, "x"), JSON.stringify(e)).toThrow(InvalidInputError);
    }
    expect(() => oprfInput(E, "")).toThrow(InvalidInputError);
    expect(() => oprfInput(E, "\udc00")).toThrow(InvalidInputError);
    expect(() => oprfInput(E, "x".repeat(1025))).toThrow(InvalidInputError);
  });

  it("derives distinct tag and label key, bound to network and epoch", () => {
    const out = new Uint8Array(64).fill(9);
    const k = deriveTagKeys(out, E);
    expect(k.tag).toHaveLength(32);
    expect(toHex(k.tag)).not.toBe(toHex(k.labelKey));
    expect(toHex(deriveTagKeys(out, { ...E, epoch: 2 }).tag)).not.toBe(toHex(k.tag));
    expect(toHex(deriveTagKeys(out, { ...E, networkId: "relink-x" }).tag)).not.toBe(toHex(k.tag));
    expect(() => deriveTagKeys(new Uint8Array(32), E)).toThrow(InvalidInputError);
  });
});
