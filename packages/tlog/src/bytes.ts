/**
 * Small pure byte helpers shared by the log code: strict RFC 4648 §4 base64 (standard alphabet, padded,
 * canonical), constant-shape comparisons and big-endian integers. No Node Buffer, so the same code runs in
 * browsers.
 */
import { equalBytes } from "@noble/curves/utils.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";

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
  const len = text.length;
  if (len % 4 !== 0) return undefined;
  let pad = 0;
  if (len > 0 && text.charCodeAt(len - 1) === 61) pad = text.charCodeAt(len - 2) === 61 ? 2 : 1;
  const out = new Uint8Array((len / 4) * 3 - pad);
  // Full groups, padding excluded: no per-group allocation (a receipt decodes ~25 strings per check).
  const full = pad === 0 ? len : len - 4;
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 128) return undefined;
    const d0 = DECODE[c0]!;
    const d1 = DECODE[c1]!;
    const d2 = DECODE[c2]!;
    const d3 = DECODE[c3]!;
    if ((d0 | d1 | d2 | d3) < 0) return undefined;
    const n = (d0 << 18) | (d1 << 12) | (d2 << 6) | d3;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (pad > 0) {
    // The last group: 2 or 3 significant characters, then '=' padding; the unused bits must be zero.
    const c0 = text.charCodeAt(full);
    const c1 = text.charCodeAt(full + 1);
    const c2 = pad === 1 ? text.charCodeAt(full + 2) : 65; // 'A' = 0 stands in for the padded position
    if ((c0 | c1 | c2) >= 128) return undefined;
    const d0 = DECODE[c0]!;
    const d1 = DECODE[c1]!;
    const d2 = DECODE[c2]!;
    if ((d0 | d1 | d2) < 0) return undefined;
    const n = (d0 << 18) | (d1 << 12) | (d2 << 6);
    if (pad === 2 ? (n & 0xffff) !== 0 : (n & 0xff) !== 0) return undefined;
    out[o++] = n >> 16;
    if (pad === 1) out[o++] = (n >> 8) & 255;
  }
  return out;
}

/** Constant-time comparison and concatenation are noble's (`@noble/curves/utils`, `@noble/hashes/utils`). */
export const bytesEqual = equalBytes;

/** Lower-case hex (noble's: table-driven, or the native Uint8Array.prototype.toHex where there is one). */
export const toHex = bytesToHex;
/** Hex to bytes (noble's); callers check the text's shape first. */
export const fromHex = hexToBytes;
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
