/**
 * C2SP tlog-cosignature (c2sp.org/tlog-cosignature), Ed25519 `cosignature/v1`, signature type 0x04.
 *  - signed message: "cosignature/v1\n" || "time <POSIX seconds>\n" || the checkpoint note text;
 *  - signature: timestamped_signature = u64 big-endian timestamp || 64-byte Ed25519 signature;
 *  - key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4].
 * `verifyCosignatures` implements a k-of-n policy over known witnesses; signatures from other keys are
 * ignored, as the signed-note spec requires.
 */
import { concat, u64be, utf8 } from "./bytes.ts";
import { type Ed25519Verify, signEd25519, verifyEd25519 } from "./ed25519.ts";
import {
  matchesKey,
  NoteError,
  type ParsedNote,
  SIG_TYPE_COSIGNATURE_V1,
  type SignerKey,
  signatureLine,
  type VerifierKey,
} from "./note.ts";

export const MAX_TIMESTAMP = 2n ** 63n - 1n;

export function cosignedMessage(noteText: string, timestamp: bigint): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp}\n${noteText}`);
}

/** Returns the cosignature line for a checkpoint's note text at `timestamp` (POSIX seconds). */
export function cosign(noteText: string, key: SignerKey, timestamp: bigint): string {
  if (key.type !== SIG_TYPE_COSIGNATURE_V1) throw new NoteError("bad_key", "cosigning needs a type 0x04 key");
  if (timestamp < 0n || timestamp > MAX_TIMESTAMP) throw new NoteError("malformed", "timestamp out of range");
  const sig = signEd25519(key.seed, cosignedMessage(noteText, timestamp));
  return signatureLine(key, concat(u64be(timestamp), sig));
}

export interface Cosignature {
  witness: VerifierKey;
  timestamp: bigint;
}

/** Verifies one cosignature's bytes (timestamp || signature) against a witness key; undefined if invalid. */
export function verifyCosignatureBytes(
  noteText: string,
  witness: VerifierKey,
  bytes: Uint8Array,
  verify: Ed25519Verify = verifyEd25519,
): Cosignature | undefined {
  if (bytes.length !== 8 + 64) return undefined;
  const timestamp = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
  if (timestamp > MAX_TIMESTAMP) return undefined;
  if (!verify(witness.publicKey, cosignedMessage(noteText, timestamp), bytes.slice(8))) return undefined;
  return { witness, timestamp };
}

export type CosignatureFailure =
  | { reason: "cosignature_invalid"; witness: string }
  | { reason: "insufficient_cosignatures"; valid: number; required: number };

/**
 * Counts valid cosignatures by distinct known witnesses. A signature line that names a known witness (name
 * and key ID) but does not verify is an error, not a skip; unknown lines are ignored.
 */
export function verifyCosignatures(
  note: ParsedNote,
  witnesses: readonly VerifierKey[],
  k: number,
  verify: Ed25519Verify = verifyEd25519,
): { ok: true; cosignatures: Cosignature[] } | ({ ok: false } & CosignatureFailure) {
  const found = new Map<VerifierKey, Cosignature>();
  for (const sig of note.signatures) {
    const w = witnesses.find((x) => x.type === SIG_TYPE_COSIGNATURE_V1 && matchesKey(sig, x));
    if (!w) continue;
    const c = verifyCosignatureBytes(note.text, w, sig.signature, verify);
    if (!c) return { ok: false, reason: "cosignature_invalid", witness: w.name };
    if (!found.has(w)) found.set(w, c);
  }
  if (found.size < k)
    return { ok: false, reason: "insufficient_cosignatures", valid: found.size, required: k };
  return { ok: true, cosignatures: [...found.values()] };
}
