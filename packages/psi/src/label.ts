/**
 * Sealed contact labels (product brief, Protocol 3): XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 on
 * RFC 8439's ChaCha20-Poly1305) from the injected backend (symmetric.ts): @noble/ciphers 2.4 by default —
 * pure JS, so the portal's Web Worker runs it too — or libsodium WASM for bulk work in Node.
 *
 * Sealed label (v1):   0x01 || nonce[24] || ciphertext || tag[16]          (nonce from the injected RNG)
 * Associated data:     lp("relink/v1/label-ad") || I2OSP(1, 1) || lp(tag) || lp(UTF-8 publisher member id)
 *                      || I2OSP(kind code, 1) || I2OSP(label version, 4)
 * Plaintext (v1):      I2OSP(1, 1) || I2OSP(kind, 1) || lp(UTF-8 value) || I2OSP(firstSeen, 8)
 *                      || I2OSP(lastSeen, 8) || I2OSP(sourceType, 1) || I2OSP(confidence, 1)
 * with lp = I2OSP(len, 2) || bytes. Times are Unix seconds. The encoding is canonical (one byte string per
 * label), capped at {@link MAX_LABEL_PLAINTEXT_BYTES}, and validated again on open.
 *
 * Random 24-byte nonces make collisions negligible (2^-96 after 2^48 labels per key); a label key is per
 * subject and epoch, so few labels ever share one.
 */
import { ascii, concat, i2osp, lp, type Rng, utf8Encode, webCryptoRng } from "./bytes.ts";
import { InvalidLabelError, LabelOpenError } from "./errors.ts";
import { nobleSymmetric, type SymmetricCrypto } from "./symmetric.ts";

export const LABEL_FORMAT_VERSION = 1;
export const LABEL_KINDS = ["phone", "address", "email", "employer"] as const;
export type LabelKind = (typeof LABEL_KINDS)[number];
export const SOURCE_TYPES = [
  "application",
  "transaction",
  "collection-contact",
  "third-party",
  "public-record",
] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
export const MAX_LABEL_VALUE_BYTES = 1024;
export const MAX_LABEL_PLAINTEXT_BYTES = 1 + 1 + 2 + MAX_LABEL_VALUE_BYTES + 8 + 8 + 1 + 1;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
export const MAX_SEALED_LABEL_BYTES = 1 + NONCE_BYTES + MAX_LABEL_PLAINTEXT_BYTES + TAG_BYTES;
const MAX_PUBLISHER_REF_BYTES = 128;

export interface Label {
  readonly kind: LabelKind;
  /** Normalised contact value, e.g. "+8613800138000". */
  readonly value: string;
  /** Unix seconds. */
  readonly firstSeen: number;
  /** Unix seconds, ≥ firstSeen. */
  readonly lastSeen: number;
  readonly sourceType: SourceType;
  /** 0..100. */
  readonly confidence: number;
}

/** What the associated data binds: where the sealed label sits in the directory. */
export interface LabelContext {
  /** 32-byte directory tag (deriveTagKeys). */
  readonly tag: Uint8Array;
  /**
   * Names the publishing record, e.g. "record:<base64url record id>". Opaque by design: the sdk binds the
   * publisher's secret-keyed record id rather than its member id, so a querier does not learn who published.
   */
  readonly publisherRef: string;
  readonly kind: LabelKind;
  /** Publisher's version of this record (upserts increase it). 0..2^32-1. */
  readonly labelVersion: number;
}

const kindCode = (k: LabelKind) => LABEL_KINDS.indexOf(k) + 1;
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

function checkTime(t: number, what: string): void {
  if (!Number.isSafeInteger(t) || t < 0)
    throw new InvalidLabelError(`${what}: expected non-negative Unix seconds`);
}

/** Validates a label; returns its value's UTF-8 (encoded once, for the caller to reuse). */
function checkLabel(l: Label): Uint8Array {
  if (!LABEL_KINDS.includes(l.kind)) throw new InvalidLabelError(`kind: unknown '${String(l.kind)}'`);
  if (!SOURCE_TYPES.includes(l.sourceType))
    throw new InvalidLabelError(`sourceType: unknown '${String(l.sourceType)}'`);
  if (typeof l.value !== "string" || l.value.length === 0 || !l.value.isWellFormed()) {
    throw new InvalidLabelError("value: expected a non-empty well-formed string");
  }
  const value = utf8Encode(l.value);
  if (value.length > MAX_LABEL_VALUE_BYTES) {
    throw new InvalidLabelError(`value: longer than ${MAX_LABEL_VALUE_BYTES} bytes`);
  }
  checkTime(l.firstSeen, "firstSeen");
  checkTime(l.lastSeen, "lastSeen");
  if (l.lastSeen < l.firstSeen) throw new InvalidLabelError("lastSeen before firstSeen");
  if (!Number.isInteger(l.confidence) || l.confidence < 0 || l.confidence > 100) {
    throw new InvalidLabelError("confidence: expected an integer in 0..100");
  }
  return value;
}

/** Validates a label context; returns the publisher reference's UTF-8. */
function checkContext(c: LabelContext): Uint8Array {
  if (!(c.tag instanceof Uint8Array) || c.tag.length !== 32)
    throw new InvalidLabelError("tag: expected 32 bytes");
  if (!LABEL_KINDS.includes(c.kind)) throw new InvalidLabelError(`kind: unknown '${String(c.kind)}'`);
  const id = utf8Encode(c.publisherRef ?? "");
  if (id.length === 0 || id.length > MAX_PUBLISHER_REF_BYTES || !c.publisherRef.isWellFormed()) {
    throw new InvalidLabelError(`publisherRef: expected 1..${MAX_PUBLISHER_REF_BYTES} bytes`);
  }
  if (!Number.isInteger(c.labelVersion) || c.labelVersion < 0 || c.labelVersion > 0xffffffff) {
    throw new InvalidLabelError("labelVersion: expected an integer in 0..2^32-1");
  }
  return id;
}

/** lp(ascii("relink/v1/label-ad")) || I2OSP(1, 1): the constant start of every associated data. */
const AD_PREFIX = concat(lp(ascii("relink/v1/label-ad")), i2osp(LABEL_FORMAT_VERSION, 1));

/** Big-endian I2OSP(v, 8) of a safe non-negative integer at `at`. */
function putU64(out: Uint8Array, at: number, v: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(at, Math.floor(v / 2 ** 32));
  view.setUint32(at + 4, v >>> 0);
}

// Both encoders write the fields of the formats in the header into one buffer (the same bytes as
// concatenating lp/i2osp pieces, without an allocation per field: ADR 0043).
export function labelAssociatedData(c: LabelContext): Uint8Array {
  const ref = checkContext(c);
  const out = new Uint8Array(AD_PREFIX.length + 2 + 32 + 2 + ref.length + 1 + 4);
  out.set(AD_PREFIX);
  let at = AD_PREFIX.length;
  out[at++] = 0;
  out[at++] = 32;
  out.set(c.tag, at);
  at += 32;
  out[at++] = ref.length >> 8;
  out[at++] = ref.length & 0xff;
  out.set(ref, at);
  at += ref.length;
  out[at++] = kindCode(c.kind);
  new DataView(out.buffer).setUint32(at, c.labelVersion);
  return out;
}

export function encodeLabel(l: Label): Uint8Array {
  const value = checkLabel(l);
  const out = new Uint8Array(4 + value.length + 18);
  out[0] = LABEL_FORMAT_VERSION;
  out[1] = kindCode(l.kind);
  out[2] = value.length >> 8;
  out[3] = value.length & 0xff;
  out.set(value, 4);
  const o = 4 + value.length;
  putU64(out, o, l.firstSeen);
  putU64(out, o + 8, l.lastSeen);
  out[o + 16] = SOURCE_TYPES.indexOf(l.sourceType) + 1;
  out[o + 17] = l.confidence;
  return out;
}

export function decodeLabel(b: Uint8Array): Label {
  if (b.length < 22 || b.length > MAX_LABEL_PLAINTEXT_BYTES) throw new InvalidLabelError("label: bad length");
  if (b[0] !== LABEL_FORMAT_VERSION) throw new InvalidLabelError(`label: unknown format version ${b[0]}`);
  const kind = LABEL_KINDS[b[1]! - 1];
  if (!kind) throw new InvalidLabelError(`label: unknown kind code ${b[1]}`);
  const n = (b[2]! << 8) | b[3]!;
  if (b.length !== 4 + n + 18) throw new InvalidLabelError("label: length does not match its value length");
  let value: string;
  try {
    value = utf8Strict.decode(b.subarray(4, 4 + n));
  } catch {
    throw new InvalidLabelError("label: value is not UTF-8");
  }
  const u64 = (o: number) => {
    let v = 0;
    for (let i = 0; i < 8; i++) v = v * 256 + b[o + i]!;
    return v;
  };
  const o = 4 + n;
  const sourceType = SOURCE_TYPES[b[o + 16]! - 1];
  if (!sourceType) throw new InvalidLabelError(`label: unknown source type code ${b[o + 16]}`);
  const label: Label = {
    kind,
    value,
    firstSeen: u64(o),
    lastSeen: u64(o + 8),
    sourceType,
    confidence: b[o + 17]!,
  };
  checkLabel(label);
  return label;
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32)
    throw new InvalidLabelError("label key: expected 32 bytes");
}

/** Seals a label under its label key, bound to its place in the directory. */
export function sealLabel(
  labelKey: Uint8Array,
  ctx: LabelContext,
  label: Label,
  rng: Rng = webCryptoRng,
  sym: SymmetricCrypto = nobleSymmetric,
): Uint8Array {
  checkKey(labelKey);
  if (label.kind !== ctx.kind) throw new InvalidLabelError("label kind differs from the context's kind");
  const nonce = rng(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES) throw new InvalidLabelError("rng: expected 24 bytes");
  const ct = sym.seal(labelKey, nonce, labelAssociatedData(ctx), encodeLabel(label));
  const out = new Uint8Array(1 + NONCE_BYTES + ct.length);
  out[0] = LABEL_FORMAT_VERSION;
  out.set(nonce, 1);
  out.set(ct, 1 + NONCE_BYTES);
  return out;
}

/** Opens a sealed label; {@link LabelOpenError} on any tampering, wrong key or context mismatch. */
export function openLabel(
  labelKey: Uint8Array,
  ctx: LabelContext,
  sealed: Uint8Array,
  sym: SymmetricCrypto = nobleSymmetric,
): Label {
  checkKey(labelKey);
  if (
    !(sealed instanceof Uint8Array) ||
    sealed.length < 1 + NONCE_BYTES + TAG_BYTES ||
    sealed.length > MAX_SEALED_LABEL_BYTES
  ) {
    throw new LabelOpenError("sealed label: bad length");
  }
  if (sealed[0] !== LABEL_FORMAT_VERSION)
    throw new LabelOpenError(`sealed label: unknown format ${sealed[0]}`);
  let pt: Uint8Array;
  try {
    pt = sym.open(
      labelKey,
      sealed.subarray(1, 1 + NONCE_BYTES),
      labelAssociatedData(ctx),
      sealed.subarray(1 + NONCE_BYTES),
    );
  } catch {
    throw new LabelOpenError();
  }
  const label = decodeLabel(pt);
  if (label.kind !== ctx.kind) throw new InvalidLabelError("label kind differs from the context's kind");
  return label;
}
