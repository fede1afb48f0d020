/**
 * Named, versioned BFV parameter presets (ADR 0030). A preset id names one exact set of encryption
 * parameters; it travels in every serialized key and ciphertext, and a mismatch is refused. Changing any
 * parameter means a new id (`…-v2`), never an edit: test/golden/presets-v1.json pins each preset's
 * SEAL parms_id.
 *
 * Security: SEAL's tc128 table (seal/util/hestdparms.h) = HomomorphicEncryption.org Security Standard
 * v1.1 (2018), Table 1, ternary secret, 128-bit classical: log2 q ≤ 109 at N = 4096 and ≤ 218 at N = 8192.
 * The SEALContext is built with `SecLevelType.tc128`, so SEAL itself refuses parameters above the bound.
 */

export type PresetId = "bfv-4096-add-v1" | "bfv-8192-mul-v1";

export interface Preset {
  readonly id: PresetId;
  /** Ring degree N; also the number of batching slots. */
  readonly polyModulusDegree: number;
  /**
   * Bit sizes passed to `CoeffModulus.Create`. SEAL reserves the last prime as the key-switching
   * ("special") prime, so ciphertexts live modulo the product of all but the last.
   */
  readonly coeffModulusBits: readonly number[];
  /** Bit size passed to `PlainModulus.Batching` (a prime t ≡ 1 mod 2N). */
  readonly plainModulusBits: number;
  /**
   * What `multiplyPlain` may do within the noise budget (measured, ADR 0030):
   * `scalar` — only the same value in every slot, 0 ≤ value ≤ maxScalar (the plaintext polynomial is then
   * the constant `value`, noise grows by log2(value) bits); `vector` — any vector in range.
   */
  readonly plainMultiply:
    | { readonly kind: "scalar"; readonly maxScalar: bigint }
    | { readonly kind: "vector" };
}

export const PRESETS: Readonly<Record<PresetId, Preset>> = {
  /** Add-only aggregation: one 60-bit data prime, 64 KiB per 4096-slot ciphertext. */
  "bfv-4096-add-v1": {
    id: "bfv-4096-add-v1",
    polyModulusDegree: 4096,
    coeffModulusBits: [60, 49],
    plainModulusBits: 30,
    plainMultiply: { kind: "scalar", maxScalar: 1024n },
  },
  /** Adds plus one multiplication by an arbitrary plaintext vector (e.g. a 0/1 suppression mask). */
  "bfv-8192-mul-v1": {
    id: "bfv-8192-mul-v1",
    polyModulusDegree: 8192,
    coeffModulusBits: [60, 60, 49],
    plainModulusBits: 30,
    plainMultiply: { kind: "vector" },
  },
};

export const PRESET_IDS = Object.keys(PRESETS) as PresetId[];

export function isPresetId(id: string): id is PresetId {
  return Object.hasOwn(PRESETS, id);
}
