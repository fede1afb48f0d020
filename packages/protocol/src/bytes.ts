/**
 * Byte encodings used on the wire. Bytes travel as unpadded base64url (RFC 4648 §5) strings; parsing is
 * strict (canonical: re-encoding must give the same string), so one value has exactly one spelling.
 */

const B64URL = /^[A-Za-z0-9_-]*$/;

export class EncodingError extends Error {
  override readonly name = "EncodingError";
}

export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array {
  if (!B64URL.test(text) || text.length % 4 === 1) throw new EncodingError("not unpadded base64url");
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const bin = atob(padded);
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (toBase64Url(out) !== text) throw new EncodingError("non-canonical base64url");
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new EncodingError("not lower-case hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Canonical concatenation of fields, each prefixed with its length as a 4-byte big-endian integer.
 * Used wherever several values are hashed or signed together, so no two field lists share an encoding.
 */
export function lengthPrefixed(...fields: (Uint8Array | string)[]): Uint8Array {
  const enc = new TextEncoder();
  const parts = fields.map((f) => (typeof f === "string" ? enc.encode(f) : f));
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}
