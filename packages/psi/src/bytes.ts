/**
 * Byte helpers: I2OSP (RFC 8017 §4.1), 2-byte length prefixes as RFC 9497 §1.2 uses them. Concatenation,
 * hex and constant-time comparison are noble's (`@noble/hashes/utils`, `@noble/curves/utils`), not our own.
 */
import { equalBytes } from "@noble/curves/utils.js";
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";
import { InvalidInputError } from "./errors.ts";

export { equalBytes };
export const concat = concatBytes;
export const toHex = bytesToHex;

export type Rng = (length: number) => Uint8Array;

/** Default randomness: WebCrypto's CSPRNG (Node and browsers). */
export const webCryptoRng: Rng = (length) => crypto.getRandomValues(new Uint8Array(length));

/** getRandomValues' per-call limit (WebCrypto: 65,536 bytes). */
const MAX_RANDOM_CALL = 65_536;

/**
 * The same CSPRNG drawn `blockBytes` at a time: one WebCrypto call serves many small draws (a scalar is
 * 64 bytes, a label nonce 24), where a call per draw cost ≈ 20 µs each in Node (ADR 0043). Every byte is
 * handed out once, as a copy, and the buffer is zeroed as it is consumed. For one bulk job (a batch, a
 * publication), not a process-wide pool: the caller drops it when done.
 */
export function bufferedRng(source: Rng = webCryptoRng, blockBytes = MAX_RANDOM_CALL): Rng {
  let buf: Uint8Array = new Uint8Array(0);
  let at = 0;
  return (length) => {
    if (length > blockBytes) return source(length);
    if (at + length > buf.length) {
      buf.fill(0);
      buf = source(blockBytes);
      at = 0;
    }
    const out = buf.slice(at, at + length);
    buf.fill(0, at, at + length);
    at += length;
    return out;
  };
}

export function i2osp(value: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 256 ** length) {
    throw new InvalidInputError(`I2OSP: ${value} does not fit in ${length} byte(s)`);
  }
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

/** I2OSP(len(x), 2) || x. */
export function lp(x: Uint8Array): Uint8Array {
  return concat(i2osp(x.length, 2), x);
}

const encoder = new TextEncoder();

/**
 * UTF-8 of a string: the bytes of noble's `utf8ToBytes` with one shared TextEncoder, where noble builds
 * a TextEncoder and copies its result on every call (≈ 2 µs each, several per record: ADR 0043).
 */
export function utf8Encode(s: string): Uint8Array {
  if (typeof s !== "string") throw new TypeError("string expected");
  return encoder.encode(s);
}
export const ascii = utf8Encode;

/** Hex (either case) to bytes; anything else is InvalidInputError. */
export function fromHex(h: string): Uint8Array {
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new InvalidInputError("invalid hex");
  return hexToBytes(h);
}
