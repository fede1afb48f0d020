/**
 * Epoch binding and key derivation for Relink tags.
 *
 * - OPRF input (docs/protocol/oprf.md §Input): lp("relink/v1/oprf-input") || lp(networkId) ||
 *   I2OSP(epoch, 4) || lp(UTF-8 canonical identifier), with lp = I2OSP(len, 2) || bytes as in RFC 9497
 *   §1.2. Injective, so tags of different networks or epochs never collide (except as a PRF collision).
 *   Binding happens in the *input*, not through POPRF's public-info tweak: the POPRF key k + H(info)
 *   is inverted per evaluation (RFC 9497 §3.3.3), which is not linear in k and so cannot be computed from
 *   Shamir shares of k.
 * - Tag and label key (RFC 5869 HKDF-SHA512): salt = lp(networkId) || I2OSP(epoch, 4),
 *   IKM = the 64-byte OPRF output, info "relink/v1/tag" and "relink/v1/label-key", 32 bytes each. One
 *   HKDF-Extract serves both expands (the same PRK either way); HMAC comes from the injected backend
 *   (symmetric.ts: noble by default, libsodium WASM for bulk work in Node).
 */
import { ascii, concat, i2osp, lp, utf8Encode } from "./bytes.ts";
import { EpochMismatchError, InvalidInputError } from "./errors.ts";
import { OUTPUT_BYTES } from "./rfc9497.ts";
import { hkdfSha512, nobleSymmetric, type SymmetricCrypto } from "./symmetric.ts";

export interface EpochId {
  /** Lower-case slug naming the Relink network, e.g. "relink-cn-prod". */
  readonly networkId: string;
  /** Key epoch: a new OPRF key (new DKG) per epoch. 0 .. 2^32-1. */
  readonly epoch: number;
}

export const OPRF_INPUT_DST = "relink/v1/oprf-input";
export const TAG_INFO = "relink/v1/tag";
export const LABEL_KEY_INFO = "relink/v1/label-key";
export const TAG_BYTES = 32;
export const LABEL_KEY_BYTES = 32;
export const MAX_IDENTIFIER_BYTES = 1024;

const NETWORK_ID = /^[a-z0-9][a-z0-9.-]{0,62}$/;

export function checkEpochId(e: EpochId): EpochId {
  if (typeof e?.networkId !== "string" || !NETWORK_ID.test(e.networkId)) {
    throw new InvalidInputError("networkId: expected 1-63 chars of [a-z0-9.-], starting alphanumeric");
  }
  if (!Number.isInteger(e.epoch) || e.epoch < 0 || e.epoch > 0xffffffff) {
    throw new InvalidInputError("epoch: expected an integer in 0..2^32-1");
  }
  return e;
}

export function sameEpoch(a: EpochId, b: EpochId): boolean {
  return a.networkId === b.networkId && a.epoch === b.epoch;
}

/** A holder evaluates only requests of its key's network and epoch: EpochMismatchError otherwise. */
export function checkRequestEpoch(key: EpochId, request: EpochId): void {
  if (!sameEpoch(key, request)) {
    throw new EpochMismatchError(
      `request for ${request.networkId}/${request.epoch}, key of ${key.networkId}/${key.epoch}`,
    );
  }
}

/** The OPRF input for a canonical identifier (as produced by @relink/identity, e.g. "cn-id:…"). */
/**
 * The per-epoch constants (the OPRF input's prefix up to the identifier, the HKDF salt), kept for the
 * epoch last asked about: a batch asks for the same epoch millions of times. Copies go out, so a caller
 * that changes what it got cannot change the next answer.
 */
let cached: { networkId: string; epoch: number; prefix: Uint8Array; salt: Uint8Array } | undefined;
function epochConstants(e: EpochId) {
  if (!cached || e?.networkId !== cached.networkId || e.epoch !== cached.epoch) {
    checkEpochId(e);
    const salt = concat(lp(ascii(e.networkId)), i2osp(e.epoch, 4));
    cached = {
      networkId: e.networkId,
      epoch: e.epoch,
      prefix: concat(lp(ascii(OPRF_INPUT_DST)), salt),
      salt,
    };
  }
  return cached;
}

export function oprfInput(e: EpochId, canonicalIdentifier: string): Uint8Array {
  const { prefix } = epochConstants(e);
  if (typeof canonicalIdentifier !== "string" || canonicalIdentifier.length === 0) {
    throw new InvalidInputError("identifier: expected a non-empty canonical string");
  }
  if (!canonicalIdentifier.isWellFormed()) throw new InvalidInputError("identifier: lone UTF-16 surrogate");
  const id = utf8Encode(canonicalIdentifier);
  if (id.length > MAX_IDENTIFIER_BYTES) {
    throw new InvalidInputError(`identifier: longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  const out = new Uint8Array(prefix.length + 2 + id.length);
  out.set(prefix);
  out[prefix.length] = id.length >> 8;
  out[prefix.length + 1] = id.length & 0xff;
  out.set(id, prefix.length + 2);
  return out;
}

export function epochSalt(e: EpochId): Uint8Array {
  return epochConstants(e).salt.slice();
}

export interface TagKeys {
  /** The directory key the hub sees. */
  tag: Uint8Array;
  /** XChaCha20-Poly1305 key for the labels published under `tag`. */
  labelKey: Uint8Array;
}

const INFOS = [ascii(TAG_INFO), ascii(LABEL_KEY_INFO)] as const;

export function deriveTagKeys(
  oprfOutput: Uint8Array,
  e: EpochId,
  sym: SymmetricCrypto = nobleSymmetric,
): TagKeys {
  if (!(oprfOutput instanceof Uint8Array) || oprfOutput.length !== OUTPUT_BYTES) {
    throw new InvalidInputError(`OPRF output: expected ${OUTPUT_BYTES} bytes`);
  }
  const [tag, labelKey] = hkdfSha512(sym, oprfOutput, epochConstants(e).salt, INFOS, TAG_BYTES) as [
    Uint8Array,
    Uint8Array,
  ];
  return { tag, labelKey };
}
