/**
 * Reading SEAL 4.1's serialization of a `Ciphertext` (a `PublicKey` is saved as its inner ciphertext), with
 * compression mode "none" — the only mode this package writes or accepts (zstd does not shrink 60-bit
 * residues, and a compressed payload could inflate inside the WASM heap before any check).
 *
 * Layout (SEAL native/src/seal/serialization.h `SEALHeader`, ciphertext.cpp `save_members`,
 * dynarray.h `save_members`), all little-endian:
 *
 *   0   SEALHeader: u16 magic 0xA15E, u8 header size 0x10, u8 version major (4), u8 minor (1),
 *       u8 compr_mode (0 = none), u16 reserved, u64 total size in bytes
 *   16  parms_id (4 × u64)
 *   48  u8 is_ntt_form
 *   49  u64 size (number of polynomials)
 *   57  u64 poly_modulus_degree
 *   65  u64 coeff_modulus_size
 *   73  f64 scale
 *   81  u64 correction_factor
 *   89  SEALHeader of the data array (16 bytes)
 *   105 u64 element count = size × coeff_modulus_size × N
 *   113 data: polynomial-major, then RNS limb, then coefficient (u64 each)
 *
 * In the seeded form (SEAL's `Serializable` public key) the data array holds only the first polynomial
 * (count = N × coeff_modulus_size) and is followed by the PRNG info: SEALHeader (size 81), u8 PRNG type,
 * 64-byte seed, from which SEAL expands the second polynomial.
 */
import { HeError } from "./errors.ts";

export const SEAL_MAGIC = 0xa15e;
export const SEAL_HEADER_SIZE = 16;
export const SEAL_DATA_OFFSET = 113;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export interface SealHeader {
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly comprMode: number;
  readonly size: bigint;
}

/**
 * Checks a SEALHeader at the start of `bytes`: magic, header size, version 4.1, compression none, and its
 * size field = `size` (default: the whole of `bytes`).
 */
export function checkSealHeader(bytes: Uint8Array, size: number = bytes.length): void {
  if (bytes.length < SEAL_HEADER_SIZE) throw new HeError("malformed", "SEAL header truncated");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint16(0, true) !== SEAL_MAGIC) throw new HeError("malformed", "bad SEAL magic");
  if (dv.getUint8(2) !== SEAL_HEADER_SIZE) throw new HeError("malformed", "bad SEAL header size");
  if (dv.getUint8(3) !== 4 || dv.getUint8(4) !== 1) {
    throw new HeError("malformed", `unsupported SEAL version ${dv.getUint8(3)}.${dv.getUint8(4)}`);
  }
  if (dv.getUint8(5) !== 0) throw new HeError("malformed", "compressed SEAL payloads are refused");
  if (dv.getUint16(6, true) !== 0) throw new HeError("malformed", "SEAL header reserved field is not zero");
  if (dv.getBigUint64(8, true) !== BigInt(size)) {
    throw new HeError("malformed", "SEAL header size does not match the payload length");
  }
}

export interface CiphertextLayout {
  readonly parmsId: Uint8Array;
  readonly isNttForm: boolean;
  readonly size: number;
  readonly polyModulusDegree: number;
  readonly coeffModulusSize: number;
  readonly scale: number;
  readonly correctionFactor: bigint;
  /** Seeded form: only the first polynomial is stored, the second is expanded by SEAL from a PRNG seed. */
  readonly seeded: boolean;
  /** Copy of the stored coefficients (u64), polynomial-major, then limb, then coefficient. */
  readonly data: BigUint64Array;
}

const PRNG_INFO_BYTES = SEAL_HEADER_SIZE + 1 + 64; // SEALHeader, u8 prng type, 8 × u64 seed
const PRNG_TYPES = new Set([1, 2]); // blake2xb, shake256

/**
 * Parses an uncompressed SEAL ciphertext (or public key) serialization and checks its internal
 * consistency, so that SEAL's own loader is never the first to see malformed bytes (an exception thrown
 * inside SEAL cannot be freed safely from JS in node-seal 7 — ADR 0031). `allowSeeded` accepts the
 * seeded form (size 2, first polynomial + PRNG seed), which SEAL writes for `Serializable` public keys.
 */
/** Reused copy target for {@link parseCiphertextBytes} with `transient` (grown on demand). */
let scratch = new BigUint64Array(0);

/**
 * `transient`: the returned layout's `data` may live in a buffer the next transient call overwrites — for
 * callers that finish with it before parsing again (validation on the hub: no 64 KiB allocation per
 * ciphertext).
 */
export function parseCiphertextBytes(
  bytes: Uint8Array,
  allowSeeded = false,
  transient = false,
): CiphertextLayout {
  checkSealHeader(bytes);
  if (bytes.length < SEAL_DATA_OFFSET) throw new HeError("malformed", "SEAL ciphertext truncated");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ntt = dv.getUint8(48);
  const size = dv.getBigUint64(49, true);
  const n = dv.getBigUint64(57, true);
  const k = dv.getBigUint64(65, true);
  if (ntt > 1) throw new HeError("malformed", "SEAL ciphertext NTT flag is not 0 or 1");
  if (size > 16n || n > 65536n || k > 64n)
    throw new HeError("malformed", "SEAL ciphertext dimensions out of range");
  const full = size * n * k;
  const count = dv.getBigUint64(105, true);
  const seeded = allowSeeded && size === 2n && count === n * k && count !== full;
  if (!seeded && count !== full) throw new HeError("malformed", "SEAL ciphertext element count inconsistent");
  const dataEnd = BigInt(SEAL_DATA_OFFSET) + 8n * count;
  const expected = dataEnd + (seeded ? BigInt(PRNG_INFO_BYTES) : 0n);
  if (BigInt(bytes.length) !== expected) {
    throw new HeError("malformed", "SEAL ciphertext length does not match its dimensions");
  }
  const inner = bytes.subarray(89, 105);
  checkSealHeader(inner, 16 + 8 + 8 * Number(count));
  if (seeded) {
    const info = bytes.subarray(Number(dataEnd));
    checkSealHeader(info, PRNG_INFO_BYTES);
    if (!PRNG_TYPES.has(info[SEAL_HEADER_SIZE] ?? 0))
      throw new HeError("malformed", "unknown SEAL PRNG type");
  }
  let data: BigUint64Array;
  if (LITTLE_ENDIAN && (bytes.byteOffset + SEAL_DATA_OFFSET) % 8 === 0) {
    // Aligned already: a view (no 64 KiB copy per ciphertext; the bytes are not modified).
    data = new BigUint64Array(bytes.buffer, bytes.byteOffset + SEAL_DATA_OFFSET, Number(count));
  } else if (LITTLE_ENDIAN && transient) {
    if (scratch.length < Number(count)) scratch = new BigUint64Array(Number(count));
    data = scratch.subarray(0, Number(count));
    new Uint8Array(data.buffer, data.byteOffset, 8 * Number(count)).set(
      bytes.subarray(SEAL_DATA_OFFSET, Number(dataEnd)),
    );
  } else if (LITTLE_ENDIAN) {
    data = new BigUint64Array(bytes.slice(SEAL_DATA_OFFSET, Number(dataEnd)).buffer); // one aligned copy
  } else {
    data = new BigUint64Array(Number(count));
    for (let i = 0; i < data.length; i++) data[i] = dv.getBigUint64(SEAL_DATA_OFFSET + 8 * i, true);
  }
  return {
    parmsId: bytes.slice(16, 48),
    isNttForm: ntt === 1,
    size: Number(size),
    polyModulusDegree: Number(n),
    coeffModulusSize: Number(k),
    scale: dv.getFloat64(73, true),
    correctionFactor: dv.getBigUint64(81, true),
    seeded,
    data,
  };
}

/** The coefficients of polynomial `poly`, RNS limb `limb`. */
export function limbOf(layout: CiphertextLayout, poly: number, limb: number): BigUint64Array {
  const n = layout.polyModulusDegree;
  const start = (poly * layout.coeffModulusSize + limb) * n;
  return layout.data.subarray(start, start + n);
}

/** Every stored coefficient of limb i is below the prime q_i (SEAL's `is_data_valid_for`, done first). */
export function checkCoefficients(layout: CiphertextLayout, primes: readonly bigint[]): void {
  const polys = layout.seeded ? 1 : layout.size;
  const lo = LITTLE_ENDIAN ? 0 : 1;
  const hi = 1 - lo;
  for (let poly = 0; poly < polys; poly++) {
    primes.forEach((q, limb) => {
      const v = limbOf(layout, poly, limb);
      const words = new Uint32Array(v.buffer, v.byteOffset, 2 * v.length);
      const qHi = Number(q >> 32n);
      const qLo = Number(q & 0xffffffffn);
      for (let i = 0; i < v.length; i++) {
        const h = words[2 * i + hi] as number;
        if (h > qHi || (h === qHi && (words[2 * i + lo] as number) >= qLo)) {
          throw new HeError("malformed", `coefficient not reduced modulo prime ${limb}`);
        }
      }
    });
  }
}
