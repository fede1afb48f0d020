import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64Decode, base64Encode } from "../src/bytes.ts";

/** Node's decoder is lenient; a string is canonical base64 exactly when re-encoding it gives it back. */
function canonical(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/=]*$/.test(s) || s.length % 4 !== 0) return undefined;
  const b = Buffer.from(s, "base64");
  return b.toString("base64") === s ? new Uint8Array(b) : undefined;
}

describe("strict base64 (RFC 4648 §4)", () => {
  it("round-trips any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(base64Decode(base64Encode(bytes))).toEqual(bytes);
        expect(base64Encode(bytes)).toBe(Buffer.from(bytes).toString("base64"));
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts exactly the canonical strings, on near-miss input (padding, stray bits, foreign characters)", () => {
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ é".split("");
    const near = fc.oneof(
      fc.array(fc.constantFrom(...chars), { maxLength: 16 }).map((a) => a.join("")),
      fc
        .tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.nat(200), fc.constantFrom(...chars))
        .map(([b, at, c]) => {
          const s = base64Encode(b);
          const i = at % s.length;
          return s.slice(0, i) + c + s.slice(i + 1);
        }),
    );
    fc.assert(
      fc.property(near, (s) => {
        expect(base64Decode(s)).toEqual(canonical(s));
      }),
      { numRuns: 5000 },
    );
    expect(base64Decode("AB==")).toBeUndefined(); // non-zero padding bits
    expect(base64Decode("ABC=")).toBeUndefined();
    expect(base64Decode("AA==")).toEqual(new Uint8Array([0]));
    expect(base64Decode("====")).toBeUndefined();
    expect(base64Decode("")).toEqual(new Uint8Array(0));
  });
});
