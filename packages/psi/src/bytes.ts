/** Byte helpers: I2OSP (RFC 8017 §4.1), 2-byte length prefixes as RFC 9497 §1.2 uses them. */
import { InvalidInputError } from "./errors.ts";

export type Rng = (length: number) => Uint8Array;

/** Default randomness: WebCrypto's CSPRNG (Node and browsers). */
export const webCryptoRng: Rng = (length) => crypto.getRandomValues(new Uint8Array(length));

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
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

const utf8 = new TextEncoder();
export const ascii = (s: string): Uint8Array => utf8.encode(s);
export const utf8Encode = (s: string): Uint8Array => utf8.encode(s);

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(h: string): Uint8Array {
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new InvalidInputError("invalid hex");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
