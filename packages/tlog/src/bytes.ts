/**
 * Small pure byte helpers shared by the log code: strict RFC 4648 §4 base64 (standard alphabet, padded,
 * canonical), constant-shape comparisons and big-endian integers. No Node Buffer, so the same code runs in
 * browsers.
 */
import { equalBytes } from "@noble/curves/utils.js";
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export function base64Encode(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + "=";
  }
  return out;
}

/**
 * Decodes standard padded base64. Returns undefined for anything else: wrong length, characters outside the
 * alphabet, misplaced padding, or non-zero padding bits (a non-canonical encoding of the same bytes).
 */
export function base64Decode(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  let pad = 0;
  if (text.endsWith("==")) pad = 2;
  else if (text.endsWith("=")) pad = 1;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const v = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      if (last && j >= 4 - pad) {
        if (c !== 61) return undefined;
        continue;
      }
      const d = c < 128 ? DECODE[c]! : -1;
      if (d < 0) return undefined;
      v[j] = d;
    }
    const n = (v[0]! << 18) | (v[1]! << 12) | (v[2]! << 6) | v[3]!;
    if (last && pad === 2 && (n & 0xffff) !== 0) return undefined;
    if (last && pad === 1 && (n & 0xff) !== 0) return undefined;
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/** Constant-time comparison and concatenation are noble's (`@noble/curves/utils`, `@noble/hashes/utils`). */
export const bytesEqual = equalBytes;
export const concat = concatBytes;

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

export const utf8 = utf8ToBytes;

/** Strict UTF-8 decoding; undefined for invalid sequences. */
export function utf8Decode(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export function u64be(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

/** Parses an ASCII decimal with no leading zeros (`0` itself allowed); undefined otherwise. */
export function parseDecimal(text: string, max: bigint = 2n ** 63n - 1n): bigint | undefined {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text)) return undefined;
  const n = BigInt(text);
  return n <= max ? n : undefined;
}
