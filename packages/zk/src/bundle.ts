/**
 * Consent-proof bundles (docs/protocol/consent-proofs.md): the proofs one query carried, in a document a
 * DPO or regulator re-verifies offline next to the query's audit receipt.
 *
 *   {
 *     "format": "relink-consent-proofs/v2",
 *     "vkeySha256": <hex: the verification key the proofs are for>,
 *     "purpose": <declared purpose code>,
 *     "category": <the data category the query read: contact for a lookup, credit_exposure for exposure>,
 *     "queryTime": <ms since the Unix epoch, the public input the proofs used>,
 *     "items": [ { "tag": <hex 32>, "root": <hex 32>, "proof": <hex 256> }, … ]
 *   }
 *
 * The audit leaf of the query records `consentProofsHash` = proofsCommitment(bundle): SHA-256 over a domain
 * tag, the vkey hash, the purpose, the category, the time and every item's fixed-size encoding, so the
 * bundle cannot be swapped after the fact. v1 bundles (purpose only, binary tree; before ADR 0048) are
 * refused: their verification key is retired. Each root must also appear in a `consent.root_committed` leaf of the same member
 * (the verifier checks that against the log; this leaf has no log access).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "./artifacts.ts";
import { ZkError } from "./errors.ts";
import { bytesToField, codeField, fieldToBytes, scopeField, timeField } from "./fields.ts";
import { PROOF_BYTES, verifyMembership } from "./proof.ts";

export const BUNDLE_FORMAT = "relink-consent-proofs/v2";
export const MAX_BUNDLE_ITEMS = 1000;

export interface ConsentProofItem {
  tag: Uint8Array;
  /** The committed root the proof is against (a field element). */
  root: bigint;
  proof: Uint8Array;
}

export interface ConsentProofBundle {
  vkeySha256: string;
  purpose: string;
  /** The data category the query read (ADR 0048). */
  category: string;
  queryTime: number;
  items: ConsentProofItem[];
}

const te = new TextEncoder();
const HEX_RE = /^(?:[0-9a-f]{2})*$/;

function fromHex(field: string, s: unknown, len: number): Uint8Array {
  if (typeof s !== "string" || !HEX_RE.test(s) || s.length !== 2 * len) {
    throw new ZkError("INVALID_ENCODING", `${field}: ${len} bytes of lower-case hex expected`);
  }
  return Uint8Array.from(s.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
}

/** SHA-256 commitment to a bundle (hex), recorded in the query's audit leaf. */
export function proofsCommitment(b: ConsentProofBundle): string {
  const head = te.encode(
    `relink/zk/consent-proofs/v2\n${b.vkeySha256}\n${b.purpose}\n${b.category}\n${timeField("queryTime", b.queryTime)}\n`,
  );
  const parts: Uint8Array[] = [head];
  scopeField(b.purpose, b.category);
  for (const it of b.items) {
    if (it.tag.length !== 32 || it.proof.length !== PROOF_BYTES)
      throw new ZkError("INVALID_INPUT", "bundle item: 32-byte tag and 256-byte proof");
    parts.push(it.tag, fieldToBytes(it.root), it.proof);
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return toHex(sha256(all));
}

export function encodeBundle(b: ConsentProofBundle): string {
  return JSON.stringify({
    format: BUNDLE_FORMAT,
    vkeySha256: b.vkeySha256,
    purpose: b.purpose,
    category: b.category,
    queryTime: b.queryTime,
    items: b.items.map((i) => ({
      tag: toHex(i.tag),
      root: toHex(fieldToBytes(i.root)),
      proof: toHex(i.proof),
    })),
  });
}

/** Parses a bundle document strictly; throws ZkError naming the item and field on any malformed value. */
export function parseBundle(unverified: string | unknown): ConsentProofBundle {
  let o: unknown = unverified;
  if (typeof unverified === "string") {
    try {
      o = JSON.parse(unverified);
    } catch {
      throw new ZkError("INVALID_ENCODING", "bundle: not JSON");
    }
  }
  if (typeof o !== "object" || o === null)
    throw new ZkError("INVALID_ENCODING", "bundle: an object expected");
  const r = o as Record<string, unknown>;
  const extra = Object.keys(r).filter(
    (k) => !["format", "vkeySha256", "purpose", "category", "queryTime", "items"].includes(k),
  );
  if (extra.length > 0) throw new ZkError("INVALID_ENCODING", `bundle: unknown field ${extra[0]}`);
  if (r.format !== BUNDLE_FORMAT)
    throw new ZkError("INVALID_ENCODING", `bundle: format ${BUNDLE_FORMAT} expected`);
  fromHex("vkeySha256", r.vkeySha256, 32);
  if (typeof r.purpose !== "string") throw new ZkError("INVALID_ENCODING", "purpose: a code expected");
  codeField("purpose", r.purpose);
  if (typeof r.category !== "string") throw new ZkError("INVALID_ENCODING", "category: a code expected");
  scopeField(r.purpose, r.category);
  if (typeof r.queryTime !== "number") throw new ZkError("INVALID_ENCODING", "queryTime: a number expected");
  timeField("queryTime", r.queryTime);
  if (!Array.isArray(r.items) || r.items.length < 1 || r.items.length > MAX_BUNDLE_ITEMS) {
    throw new ZkError("INVALID_ENCODING", `items: 1 to ${MAX_BUNDLE_ITEMS} expected`);
  }
  const items = r.items.map((x: unknown, i: number) => {
    const it = (x ?? {}) as Record<string, unknown>;
    return {
      tag: fromHex(`items[${i}].tag`, it.tag, 32),
      root: bytesToField(`items[${i}].root`, fromHex(`items[${i}].root`, it.root, 32)),
      proof: fromHex(`items[${i}].proof`, it.proof, PROOF_BYTES),
    };
  });
  return {
    vkeySha256: r.vkeySha256 as string,
    purpose: r.purpose,
    category: r.category,
    queryTime: r.queryTime,
    items,
  };
}

export type BundleVerification =
  | { ok: true; commitment: string; roots: string[] }
  | { ok: false; reason: "wrong_vkey" | "invalid_proof"; item?: number; message: string };

/**
 * Verifies every proof of a parsed bundle against `vkey` (whose hash must be the bundle's). Returns the
 * bundle's commitment (compare it with the leaf's `consentProofsHash`) and the distinct roots (check each
 * was committed by the querying member in the log).
 */
export async function verifyBundle(
  vkey: object,
  vkeySha256: string,
  b: ConsentProofBundle,
): Promise<BundleVerification> {
  if (b.vkeySha256 !== vkeySha256) {
    return {
      ok: false,
      reason: "wrong_vkey",
      message: `bundle is for vkey ${b.vkeySha256}, verifier has ${vkeySha256}`,
    };
  }
  for (const [i, it] of b.items.entries()) {
    const ok = await verifyMembership(
      vkey,
      { root: it.root, tag: it.tag, purpose: b.purpose, category: b.category, queryTime: b.queryTime },
      it.proof,
    );
    if (!ok) return { ok: false, reason: "invalid_proof", item: i, message: `proof ${i} does not verify` };
  }
  const roots = [...new Set(b.items.map((i) => toHex(fieldToBytes(i.root))))];
  return { ok: true, commitment: proofsCommitment(b), roots };
}
