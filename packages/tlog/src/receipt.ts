/**
 * Receipts: one self-contained JSON document per audited query that a DPO or regulator verifies offline
 * with only the log's verifier key and the witnesses' keys (docs/protocol/audit-log.md §Receipt).
 *
 *   {
 *     "format": "relink-audit-receipt/v1",
 *     "index": <leaf index, integer>,
 *     "leaf": <base64 leaf bytes>,
 *     "event": <the leaf decoded, for reading; must equal the decoding of "leaf">,
 *     "inclusionProof": [<base64 32-byte hash>, …],
 *     "checkpoint": <C2SP signed note: checkpoint text, the log's signature, witness cosignatures>
 *   }
 *
 * `verifyReceipt` never throws on bad input: it returns `{ ok: false, reason }` with a precise reason. It
 * imports nothing from Node, so the same function runs in browsers.
 */
import { base64Decode, base64Encode } from "./bytes.ts";
import { type Checkpoint, CheckpointError, openCheckpoint } from "./checkpoint.ts";
import { type Cosignature, cosignedMessage, verifyCosignatures } from "./cosignature.ts";
import { type Ed25519Verify, verifyEd25519 } from "./ed25519.ts";
import { type AuditEvent, decodeAuditEvent, LeafError } from "./leaf.ts";
import { hashLeaf, ProofError, verifyInclusion } from "./merkle.ts";
import {
  matchesKey,
  NoteError,
  parseNote,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  type VerifierKey,
} from "./note.ts";

export const RECEIPT_FORMAT = "relink-audit-receipt/v1";
export const MAX_RECEIPT_BYTES = 256 * 1024;

export interface Receipt {
  format: typeof RECEIPT_FORMAT;
  index: number;
  leaf: string;
  event: AuditEvent;
  inclusionProof: string[];
  checkpoint: string;
}

export type ReceiptFailureReason =
  | "bad_verifier_key"
  | "malformed_receipt"
  | "unsupported_format"
  | "malformed_checkpoint"
  | "origin_mismatch"
  | "no_log_signature"
  | "invalid_log_signature"
  | "invalid_cosignature"
  | "insufficient_cosignatures"
  | "malformed_leaf"
  | "index_out_of_range"
  | "malformed_proof"
  | "inclusion_proof_invalid"
  | "event_mismatch";

export type ReceiptVerification =
  | { ok: true; index: bigint; event: AuditEvent; checkpoint: Checkpoint; cosignatures: Cosignature[] }
  | { ok: false; reason: ReceiptFailureReason; message: string };

export function buildReceipt(parts: {
  index: bigint;
  leaf: Uint8Array;
  inclusionProof: readonly Uint8Array[];
  checkpoint: string;
}): Receipt {
  if (parts.index > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError("index exceeds 2^53-1");
  return {
    format: RECEIPT_FORMAT,
    index: Number(parts.index),
    leaf: base64Encode(parts.leaf),
    event: decodeAuditEvent(parts.leaf),
    inclusionProof: parts.inclusionProof.map(base64Encode),
    checkpoint: parts.checkpoint,
  };
}

const KEYS = ["format", "index", "leaf", "event", "inclusionProof", "checkpoint"];

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export interface ReceiptTrust {
  /** The log's verifier key (`name+id+key`), pinned out of band. */
  logKey: string | VerifierKey;
  /** Expected origin line; defaults to the log key's name. */
  origin?: string;
  /** Known witnesses' cosignature verifier keys (type 0x04). */
  witnesses?: readonly (string | VerifierKey)[];
  /** How many distinct known witnesses must have cosigned; default 0. */
  k?: number;
}

/**
 * Verifies a receipt (JSON text or an already parsed value) offline, synchronously: Ed25519 through
 * node:crypto on Node, noble elsewhere (ed25519.ts); `verify` picks another verifier.
 */
export function verifyReceipt(
  unverifiedReceipt: string | unknown,
  trust: ReceiptTrust,
  verify: Ed25519Verify = verifyEd25519,
): ReceiptVerification {
  return verifyReceiptWith(unverifiedReceipt, trust, verify);
}

function sigKey(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  return `${base64Encode(publicKey)}|${base64Encode(signature)}|${base64Encode(message)}`;
}

/** Imported WebCrypto keys by public key bytes (latin1): a handful of pinned log and witness keys. */
const webCryptoKeys = new Map<string, Promise<CryptoKey>>();
const WEBCRYPTO_KEYS_LIMIT = 256;

function webCryptoKey(subtle: SubtleCrypto, publicKey: Uint8Array): Promise<CryptoKey> {
  const id = String.fromCharCode.apply(null, publicKey as unknown as number[]);
  let key = webCryptoKeys.get(id);
  if (key === undefined) {
    key = subtle.importKey("raw", publicKey.slice() as BufferSource, { name: "Ed25519" }, false, ["verify"]);
    // A failed import (no Ed25519 in this WebCrypto, a key it refuses) is not kept: the next call retries.
    key.catch(() => webCryptoKeys.delete(id));
    if (webCryptoKeys.size >= WEBCRYPTO_KEYS_LIMIT) webCryptoKeys.clear();
    webCryptoKeys.set(id, key);
  }
  return key;
}

/**
 * Same checks and results as verifyReceipt, but the Ed25519 signatures are checked with the platform's
 * WebCrypto (Node ≥ 22, current browsers) in parallel — about ten times faster than pure JS — falling back
 * to noble where WebCrypto has no Ed25519.
 */
export async function verifyReceiptAsync(
  unverifiedReceipt: string | unknown,
  trust: ReceiptTrust,
): Promise<ReceiptVerification> {
  const verified = new Map<string, boolean>();
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  try {
    const r = typeof unverifiedReceipt === "string" ? JSON.parse(unverifiedReceipt) : unverifiedReceipt;
    const note = parseNote((r as { checkpoint: string }).checkpoint);
    const keys = [trust.logKey, ...(trust.witnesses ?? [])].map((k) =>
      typeof k === "string" ? parseVerifierKey(k) : k,
    );
    const jobs: Promise<void>[] = [];
    for (const sig of note.signatures) {
      const key = keys.find((k) => matchesKey(sig, k));
      if (!key || !subtle) continue;
      let message: Uint8Array;
      let signature = sig.signature;
      if (key.type === SIG_TYPE_ED25519) message = new TextEncoder().encode(note.text);
      else {
        if (signature.length !== 72) continue;
        const ts = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
        message = cosignedMessage(note.text, ts);
        signature = signature.slice(8);
      }
      if (signature.length !== 64) continue;
      jobs.push(
        webCryptoKey(subtle, key.publicKey)
          .then((k) =>
            subtle.verify({ name: "Ed25519" }, k, signature as BufferSource, message as BufferSource),
          )
          .then((ok) => {
            verified.set(sigKey(key.publicKey, message, signature), ok);
          }),
      );
    }
    await Promise.all(jobs);
  } catch {
    // Malformed input or no WebCrypto Ed25519: the synchronous path below reports or handles it.
  }
  const lookup: Ed25519Verify = (pk, msg, sig) =>
    verified.get(sigKey(pk, msg, sig)) ?? verifyEd25519(pk, msg, sig);
  return verifyReceiptWith(unverifiedReceipt, trust, lookup);
}

function verifyReceiptWith(
  unverifiedReceipt: string | unknown,
  trust: ReceiptTrust,
  verify: Ed25519Verify,
): ReceiptVerification {
  const fail = (reason: ReceiptFailureReason, message: string): ReceiptVerification => ({
    ok: false,
    reason,
    message,
  });
  let logKey: VerifierKey;
  let witnesses: VerifierKey[];
  try {
    logKey = typeof trust.logKey === "string" ? parseVerifierKey(trust.logKey) : trust.logKey;
    witnesses = (trust.witnesses ?? []).map((w) => (typeof w === "string" ? parseVerifierKey(w) : w));
  } catch (error) {
    return fail("bad_verifier_key", (error as Error).message);
  }
  if (logKey.type !== SIG_TYPE_ED25519)
    return fail("bad_verifier_key", "log key must be an Ed25519 (0x01) key");
  if (witnesses.some((w) => w.type !== SIG_TYPE_COSIGNATURE_V1)) {
    return fail("bad_verifier_key", "witness keys must be cosignature (0x04) keys");
  }
  const k = trust.k ?? 0;
  if (!Number.isInteger(k) || k < 0 || k > witnesses.length) {
    return fail("bad_verifier_key", `k must be between 0 and the number of witnesses (${witnesses.length})`);
  }

  let r: unknown = unverifiedReceipt;
  if (typeof unverifiedReceipt === "string") {
    if (unverifiedReceipt.length > MAX_RECEIPT_BYTES) return fail("malformed_receipt", "receipt too large");
    try {
      r = JSON.parse(unverifiedReceipt);
    } catch (error) {
      return fail("malformed_receipt", `not JSON: ${(error as Error).message}`);
    }
  }
  if (typeof r !== "object" || r === null || Array.isArray(r))
    return fail("malformed_receipt", "not an object");
  const o = r as Record<string, unknown>;
  const extra = Object.keys(o).filter((key) => !KEYS.includes(key));
  if (extra.length > 0) return fail("malformed_receipt", `unknown field(s): ${extra.join(", ")}`);
  if (o["format"] !== RECEIPT_FORMAT) return fail("unsupported_format", `format must be ${RECEIPT_FORMAT}`);
  const { index, leaf, event, inclusionProof, checkpoint } = o;
  if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) {
    return fail("malformed_receipt", "index must be a non-negative integer");
  }
  if (typeof leaf !== "string") return fail("malformed_receipt", "leaf must be a base64 string");
  if (typeof checkpoint !== "string") return fail("malformed_receipt", "checkpoint must be a string");
  if (!Array.isArray(inclusionProof) || inclusionProof.some((h) => typeof h !== "string")) {
    return fail("malformed_receipt", "inclusionProof must be an array of base64 strings");
  }
  if (typeof event !== "object" || event === null)
    return fail("malformed_receipt", "event must be an object");

  // 1. The checkpoint: the pinned log key signed it, and enough known witnesses cosigned it.
  let opened: ReturnType<typeof openCheckpoint>;
  try {
    opened = openCheckpoint(checkpoint, logKey, trust.origin ?? logKey.name, verify);
  } catch (error) {
    if (error instanceof NoteError) {
      if (error.code === "no_known_signature") return fail("no_log_signature", error.message);
      if (error.code === "invalid_signature") return fail("invalid_log_signature", error.message);
      return fail("malformed_checkpoint", error.message);
    }
    if (error instanceof CheckpointError) {
      return fail(
        error.code === "origin_mismatch" ? "origin_mismatch" : "malformed_checkpoint",
        error.message,
      );
    }
    throw error;
  }
  const cosigned = verifyCosignatures(opened.note, witnesses, k, verify);
  if (!cosigned.ok) {
    return cosigned.reason === "cosignature_invalid"
      ? fail("invalid_cosignature", `cosignature by ${cosigned.witness} does not verify`)
      : fail(
          "insufficient_cosignatures",
          `${cosigned.valid} of the required ${cosigned.required} cosignatures`,
        );
  }
  const cp = opened.checkpoint;

  // 2. The leaf: canonical bytes, and the event shown is exactly what they encode.
  const leafBytes = base64Decode(leaf);
  if (!leafBytes) return fail("malformed_leaf", "leaf is not canonical base64");
  let decoded: AuditEvent;
  try {
    decoded = decodeAuditEvent(leafBytes);
  } catch (error) {
    if (error instanceof LeafError) return fail("malformed_leaf", error.message);
    throw error;
  }

  // 3. The inclusion proof from the leaf to the checkpoint's root.
  const idx = BigInt(index);
  if (idx >= cp.size) return fail("index_out_of_range", `index ${idx} is not below tree size ${cp.size}`);
  const proof: Uint8Array[] = [];
  for (const h of inclusionProof as string[]) {
    const bytes = base64Decode(h);
    if (bytes?.length !== 32) return fail("malformed_proof", "proof hashes must be base64 of 32 bytes");
    proof.push(bytes);
  }
  try {
    if (!verifyInclusion(idx, cp.size, hashLeaf(leafBytes), proof, cp.root)) {
      return fail("inclusion_proof_invalid", "the proof does not lead from this leaf and index to the root");
    }
  } catch (error) {
    if (error instanceof ProofError) return fail("malformed_proof", error.message);
    throw error;
  }
  if (!sameJson(decoded, event)) return fail("event_mismatch", "event does not match the leaf bytes");
  return { ok: true, index: idx, event: decoded, checkpoint: cp, cosignatures: cosigned.cosignatures };
}
