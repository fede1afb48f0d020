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

/** The RFC 8439 ChaCha20 keystream of `key` (nonce 0) from block `counter` on, `bytes` long. */
export type Keystream = (key: Uint8Array, counter: number, bytes: number) => Uint8Array;

const ZERO_NONCE = new Uint8Array(12);

/** @noble/ciphers' ChaCha20 (pure JS; any runtime). */
export const nobleKeystream: Keystream = (key, counter, bytes) =>
  chacha20(key, ZERO_NONCE, new Uint8Array(bytes), undefined, counter);

type NodeCrypto = typeof import("node:crypto");
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.("node:crypto") as NodeCrypto | undefined;

/**
 * OpenSSL's ChaCha20 through node:crypto (3–4 × faster than pure JS here): its 16-byte IV is the 32-bit
 * block counter (little-endian) followed by the 96-bit nonce, exactly RFC 8439's state words 12–15, so the
 * keystream is the same (the masks test checks it against noble's). Undefined outside Node.
 */
export const nodeKeystream: Keystream | undefined = nodeCrypto
  ? (key, counter, bytes) => {
      const iv = new Uint8Array(16);
      new DataView(iv.buffer).setUint32(0, counter, true);
      const cipher = nodeCrypto.createCipheriv("chacha20", key, iv);
      const out = cipher.update(new Uint8Array(bytes));
      cipher.final();
      return out;
    }
  : undefined;

const keystream: Keystream = nodeKeystream ?? nobleKeystream;

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

/**
 * The HKDF info's field encoding (u32 big-endian length ‖ bytes): protocol's `lengthPrefixed`, which this
 * crypto leaf may not import (ADR 0003, ADR 0067). Part of the pair-seed derivation (docs/protocol/exposure-he.md §4).
 */
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

/**
 * X25519 shared secrets by own secret key (the object; its bytes are re-checked on use) and peer public
 * key: a lender meets the same peers in every round, and one X25519 costs ≈ 0.3–0.8 ms in pure JS — 19 of
 * them per round with 20 lenders, several times the round's one encryption. Bounded per secret key; gone
 * with it (WeakMap).
 */
const sharedCache = new WeakMap<Uint8Array, { secret: Uint8Array; byPeer: Map<string, Uint8Array> }>();
const SHARED_CACHE_PEERS = 4096;

function sharedSecret(mySecret: Uint8Array, other: MaskParticipant): Uint8Array {
  let entry = sharedCache.get(mySecret);
  if (!entry || !sameBytes(entry.secret, mySecret)) {
    entry = { secret: Uint8Array.from(mySecret), byPeer: new Map() };
    sharedCache.set(mySecret, entry);
  }
  const peer = String.fromCharCode(...other.publicKey);
  const hit = entry.byPeer.get(peer);
  if (hit) return hit;
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(mySecret, other.publicKey);
  } catch (error) {
    throw new HeError("invalid-input", `mask key of ${other.id}: ${(error as Error).message}`);
  }
  // A low-order public key yields the all-zero secret (RFC 7748 §6.1): the pair would have a public mask.
  if (shared.every((b) => b === 0))
    throw new HeError("invalid-input", `mask key of ${other.id} is a low-order point`);
  if (entry.byPeer.size >= SHARED_CACHE_PEERS) entry.byPeer.clear();
  entry.byPeer.set(peer, shared);
  return shared;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
  const shared = sharedSecret(mySecret, other);
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

/**
 * The pair's mask stream as numbers: `length` values uniform in [0, t) (t ≤ 2^30 is required). The same
 * values as {@link pairMask}, without a bigint per slot.
 */
export function pairMaskWords(
  seed: Uint8Array,
  round: MaskRound,
  stream: Keystream = keystream,
): Uint32Array {
  if (round.modulus <= 1n || round.modulus > 1n << 30n)
    throw new HeError("invalid-input", "mask modulus must be in (1, 2^30]");
  const t = Number(round.modulus);
  const out = new Uint32Array(round.length);
  let filled = 0;
  let counter = 0;
  while (filled < round.length) {
    // Enough keystream for the remaining values plus rejections; rejections are rare (t is close to 2^30).
    const words = Math.max(64, Math.ceil((round.length - filled) * 1.01) + 16);
    const block = stream(seed, counter, words * 4);
    counter += Math.ceil((words * 4) / 64);
    // Little-endian 32-bit words (RFC 8439 §2.4 serialises the keystream little-endian).
    for (let w = 0, at = 0; w < words && filled < round.length; w++, at += 4) {
      const v =
        (block[at]! | (block[at + 1]! << 8) | (block[at + 2]! << 16) | (block[at + 3]! << 24)) & 0x3fffffff;
      if (v < t) out[filled++] = v;
    }
  }
  return out;
}

/** The pair's mask stream: `length` values uniform in [0, t) (t ≤ 2^30 is required). */
export function pairMask(seed: Uint8Array, round: MaskRound): BigUint64Array {
  const words = pairMaskWords(seed, round);
  const out = new BigUint64Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = BigInt(words[i]!);
  return out;
}

/**
 * Participant `me`'s total mask for the round as numbers in [0, t), over the participants (which must
 * include `me`). The same values as {@link zeroSumMask}.
 */
export function zeroSumMaskWords(
  mySecret: Uint8Array,
  me: string,
  participants: readonly MaskParticipant[],
  round: MaskRound,
  stream: Keystream = keystream,
): Uint32Array {
  const ids = new Set(participants.map((p) => p.id));
  if (ids.size !== participants.length) throw new HeError("invalid-input", "duplicate mask participant");
  if (!ids.has(me)) throw new HeError("invalid-input", "the masking participant is not in the round");
  if (round.modulus <= 1n || round.modulus > 1n << 30n)
    throw new HeError("invalid-input", "mask modulus must be in (1, 2^30]");
  const t = Number(round.modulus);
  const total = new Uint32Array(round.length);
  for (const other of participants) {
    if (other.id === me) continue;
    const seed = pairSeed(mySecret, me, other, round);
    const add = me < other.id;
    // pairMaskWords' stream, added (or subtracted) into the total as it is read: no array per pair.
    // Every intermediate stays below 2t ≤ 2^31: exact in doubles and in a u32.
    let filled = 0;
    let counter = 0;
    while (filled < round.length) {
      const words = Math.max(64, Math.ceil((round.length - filled) * 1.01) + 16);
      const block = stream(seed, counter, words * 4);
      counter += Math.ceil((words * 4) / 64);
      const aligned = LITTLE_ENDIAN && block.byteOffset % 4 === 0;
      const w32 = aligned ? new Uint32Array(block.buffer, block.byteOffset, words) : undefined;
      for (let w = 0; w < words && filled < round.length; w++) {
        const at = 4 * w;
        const v =
          (w32
            ? w32[w]!
            : block[at]! | (block[at + 1]! << 8) | (block[at + 2]! << 16) | (block[at + 3]! << 24)) &
          0x3fffffff;
        if (v >= t) continue;
        const cur = total[filled]!;
        const next = add ? cur + v : cur + t - v;
        total[filled++] = next >= t ? next - t : next;
      }
    }
  }
  return total;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Participant `me`'s total mask for the round, over the participants (which must include `me`). */
export function zeroSumMask(
  mySecret: Uint8Array,
  me: string,
  participants: readonly MaskParticipant[],
  round: MaskRound,
): BigUint64Array {
  const words = zeroSumMaskWords(mySecret, me, participants, round);
  const out = new BigUint64Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = BigInt(words[i]!);
  return out;
}

/** (values + mask) mod t, for values already range-checked into [0, t). */
export function applyMask(values: readonly bigint[], mask: BigUint64Array, modulus: bigint): bigint[] {
  if (values.length !== mask.length) throw new HeError("invalid-input", "mask and values differ in length");
  return values.map((v, i) => {
    if (v < 0n || v >= modulus) throw new HeError("out-of-range", `slot ${i}: value outside [0, t)`);
    return (v + mask[i]!) % modulus;
  });
}
