/**
 * Pairwise zero-sum masks for secure aggregation among the lenders answering one exposure round
 * (the pairwise-mask construction of Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
 * Machine Learning", CCS 2017, §4, without its dropout recovery: a round whose masked participant drops out is
 * re-run without it).
 *
 * Each participant i holds an X25519 key pair registered with the hub. For every other participant j:
 *   s_ij   = X25519(sk_i, pk_j)                                     (RFC 7748; all-zero output refused)
 *   seed_ij = HKDF-SHA256(ikm = s_ij, salt = "relink/v1/exposure-mask",
 *                         info = lp(queryId) ‖ lp(round) ‖ lp(min(id_i,id_j)) ‖ lp(max(id_i,id_j)) ‖ lp(modulus))
 *   m_ij   = ChaCha20(seed_ij, nonce 0) read as 32-bit little-endian words, keeping the low 30 bits and
 *            rejecting values ≥ t (uniform in [0, t))                  (RFC 8439 §2.4 keystream)
 * and participant i's mask is  M_i = Σ_{j≠i} (id_i < id_j ? +m_ij : −m_ij)  mod t.
 * Σ_i M_i = 0 mod t, so the sum of masked vectors equals the sum of the vectors, while each single masked
 * vector is uniform to anyone who lacks the other participants' secrets — the hub and the querier together
 * included.
 */
import { chacha20 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { HeError } from "./errors.ts";

const SALT = new TextEncoder().encode("relink/v1/exposure-mask");

export interface MaskParticipant {
  /** A stable id (the member id): orders the pair and binds the seed. */
  id: string;
  /** X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
}

export interface MaskRound {
  queryId: string;
  round: number;
  /** The plain modulus t; masks are uniform in [0, t). */
  modulus: bigint;
  /** Number of slots to mask (all ciphertexts of the round, concatenated). */
  length: number;
}

function lp(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

export function maskKeyPair(secretKey: Uint8Array = x25519.utils.randomSecretKey()): {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
} {
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The pair's seed; the same for (i, j) and (j, i). */
export function pairSeed(
  mySecret: Uint8Array,
  me: string,
  other: MaskParticipant,
  round: MaskRound,
): Uint8Array {
  if (other.publicKey.length !== 32)
    throw new HeError("invalid-input", `mask key of ${other.id}: expected 32 bytes`);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(mySecret, other.publicKey);
  } catch (error) {
    throw new HeError("invalid-input", `mask key of ${other.id}: ${(error as Error).message}`);
  }
  // A low-order public key yields the all-zero secret (RFC 7748 §6.1): the pair would have a public mask.
  if (shared.every((b) => b === 0))
    throw new HeError("invalid-input", `mask key of ${other.id} is a low-order point`);
  const [lo, hi] = me < other.id ? [me, other.id] : [other.id, me];
  const info = lp(
    utf8(round.queryId),
    utf8(String(round.round)),
    utf8(lo),
    utf8(hi),
    utf8(round.modulus.toString()),
  );
  return hkdf(sha256, shared, SALT, info, 32);
}

/** The pair's mask stream: `length` values uniform in [0, t) (t < 2^30 is required). */
export function pairMask(seed: Uint8Array, round: MaskRound): BigUint64Array {
  if (round.modulus <= 1n || round.modulus > 1n << 30n)
    throw new HeError("invalid-input", "mask modulus must be in (1, 2^30]");
  const t = Number(round.modulus);
  const out = new BigUint64Array(round.length);
  const nonce = new Uint8Array(12);
  let filled = 0;
  let counter = 0;
  while (filled < round.length) {
    // Enough keystream for the remaining values plus rejections; rejections are rare (t is close to 2^30).
    const words = Math.max(64, Math.ceil((round.length - filled) * 1.01) + 16);
    const block = chacha20(seed, nonce, new Uint8Array(words * 4), undefined, counter);
    counter += Math.ceil((words * 4) / 64);
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    for (let w = 0; w < words && filled < round.length; w++) {
      const v = view.getUint32(w * 4, true) & 0x3fffffff;
      if (v < t) out[filled++] = BigInt(v);
    }
  }
  return out;
}

/** Participant `me`'s total mask for the round, over the participants (which must include `me`). */
export function zeroSumMask(
  mySecret: Uint8Array,
  me: string,
  participants: readonly MaskParticipant[],
  round: MaskRound,
): BigUint64Array {
  const ids = new Set(participants.map((p) => p.id));
  if (ids.size !== participants.length) throw new HeError("invalid-input", "duplicate mask participant");
  if (!ids.has(me)) throw new HeError("invalid-input", "the masking participant is not in the round");
  const t = round.modulus;
  const total = new BigUint64Array(round.length);
  for (const other of participants) {
    if (other.id === me) continue;
    const m = pairMask(pairSeed(mySecret, me, other, round), round);
    const add = me < other.id;
    for (let s = 0; s < round.length; s++) {
      const cur = total[s]!;
      total[s] = add ? (cur + m[s]!) % t : (cur + t - m[s]!) % t;
    }
  }
  return total;
}

/** (values + mask) mod t, for values already range-checked into [0, t). */
export function applyMask(values: readonly bigint[], mask: BigUint64Array, modulus: bigint): bigint[] {
  if (values.length !== mask.length) throw new HeError("invalid-input", "mask and values differ in length");
  return values.map((v, i) => {
    if (v < 0n || v >= modulus) throw new HeError("out-of-range", `slot ${i}: value outside [0, t)`);
    return (v + mask[i]!) % modulus;
  });
}
