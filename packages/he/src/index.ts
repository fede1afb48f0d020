/**
 * @relink/he — a typed facade over node-seal 7 (Microsoft SEAL 4.1, BFV with batching): named presets,
 * encode/encrypt, add, multiply by plaintext, re-randomise, decrypt, validated save/load. ADRs 0030–0031;
 * protocol: docs/protocol/exposure-he.md.
 */
export type { Kind } from "./envelope.ts";
export { ENVELOPE_MAGIC, ENVELOPE_VERSION } from "./envelope.ts";
export { HeError, type HeErrorCode } from "./errors.ts";
export {
  type DecryptOptions,
  type EncodeOptions,
  He,
  HeCiphertext,
  HeContext,
  type HeKeyPair,
  HePublicKey,
  HeSecretKey,
  type LoadHeOptions,
  loadHe,
  type SlotValue,
} from "./he.ts";
export {
  applyMask,
  type MaskParticipant,
  type MaskRound,
  maskKeyPair,
  pairMask,
  pairMaskWords,
  pairSeed,
  zeroSumMask,
  zeroSumMaskWords,
} from "./masks.ts";
export { isPresetId, PRESET_IDS, PRESETS, type Preset, type PresetId } from "./presets.ts";
