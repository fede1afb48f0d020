/**
 * The versioned envelope around every serialized SEAL object (ADR 0031):
 *
 *   offset 0  "RLHE"            magic (4 bytes)
 *          4  0x01              envelope version
 *          5  kind              1 = public key, 2 = ciphertext, 3 = secret key (local only)
 *          6  L                 preset id length, 1..64
 *          7  preset id         L bytes of ASCII
 *      7 + L  SEAL bytes        SEAL 4.1 serialization, compression "none"
 *
 * Parsing checks the magic, version, kind and preset id only; the SEAL payload is checked by the caller.
 */
import { HeError } from "./errors.ts";

export const ENVELOPE_MAGIC = Uint8Array.of(0x52, 0x4c, 0x48, 0x45); // "RLHE"
export const ENVELOPE_VERSION = 1;
const MAX_PRESET_ID = 64;

export const KIND = { publicKey: 1, ciphertext: 2, secretKey: 3 } as const;
export type Kind = keyof typeof KIND;

export function envelopeOverhead(presetId: string): number {
  return 7 + presetId.length;
}

export function wrap(kind: Kind, presetId: string, payload: Uint8Array): Uint8Array {
  const id = new TextEncoder().encode(presetId);
  const out = new Uint8Array(7 + id.length + payload.length);
  out.set(ENVELOPE_MAGIC, 0);
  out[4] = ENVELOPE_VERSION;
  out[5] = KIND[kind];
  out[6] = id.length;
  out.set(id, 7);
  out.set(payload, 7 + id.length);
  return out;
}

export interface Envelope {
  readonly kind: Kind;
  readonly presetId: string;
  readonly payload: Uint8Array;
}

export function unwrap(unverified: Uint8Array): Envelope {
  if (!(unverified instanceof Uint8Array)) throw new HeError("malformed", "expected a Uint8Array");
  if (unverified.length < 8) throw new HeError("malformed", "envelope truncated");
  for (let i = 0; i < 4; i++) {
    if (unverified[i] !== ENVELOPE_MAGIC[i])
      throw new HeError("malformed", "not an RLHE envelope (bad magic)");
  }
  if (unverified[4] !== ENVELOPE_VERSION) {
    throw new HeError("malformed", `unsupported envelope version ${unverified[4]}`);
  }
  const kindByte = unverified[5];
  const kind = (Object.keys(KIND) as Kind[]).find((k) => KIND[k] === kindByte);
  if (kind === undefined) throw new HeError("malformed", `unknown object kind ${kindByte}`);
  const idLen = unverified[6] ?? 0;
  if (idLen < 1 || idLen > MAX_PRESET_ID || unverified.length < 7 + idLen) {
    throw new HeError("malformed", "bad preset id length");
  }
  const idBytes = unverified.subarray(7, 7 + idLen);
  for (const b of idBytes) {
    if (b < 0x21 || b > 0x7e) throw new HeError("malformed", "preset id is not printable ASCII");
  }
  return {
    kind,
    presetId: new TextDecoder().decode(idBytes),
    payload: unverified.subarray(7 + idLen),
  };
}
