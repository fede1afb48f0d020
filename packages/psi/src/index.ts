/**
 * @relink/psi — threshold VOPRF tags (RFC 9497, ristretto255-SHA512), DKG, epoch-bound tag derivation and
 * sealed labels. Pure: no I/O, no environment. Browser-safe; the Node worker pool is "@relink/psi/pool"
 * and the test-only dealer "@relink/psi/testing".
 */
export { bufferedRng, fromHex, type Rng, toHex, webCryptoRng } from "./bytes.ts";
export {
  type CombinedCheck,
  evaluateUnproven,
  finishCombinedCheck,
  type HolderEvaluation,
  startCombinedCheck,
} from "./combined.ts";
export {
  type DkgParams,
  type DkgResult,
  type DkgRound1Broadcast,
  type DkgRound2Message,
  type DkgState,
  dkgRound1,
  dkgRound2,
  dkgRound3,
} from "./dkg.ts";
export {
  checkEpochId,
  deriveTagKeys,
  type EpochId,
  LABEL_KEY_INFO,
  OPRF_INPUT_DST,
  oprfInput,
  TAG_INFO,
  type TagKeys,
} from "./domain.ts";
export * from "./errors.ts";
export { ELEMENT_BYTES, type Group, msm, nobleGroup, SCALAR_BYTES } from "./group.ts";
export {
  decodeLabel,
  encodeLabel,
  LABEL_KINDS,
  type Label,
  type LabelContext,
  type LabelKind,
  labelAssociatedData,
  MAX_LABEL_PLAINTEXT_BYTES,
  MAX_SEALED_LABEL_BYTES,
  openLabel,
  SOURCE_TYPES,
  type SourceType,
  sealLabel,
} from "./label.ts";
export * as rfc9497 from "./rfc9497.ts";
export { loadSodiumGroup } from "./sodium-group.ts";
export {
  hkdfSha512,
  loadSodiumSymmetric,
  nobleSymmetric,
  type SymmetricCrypto,
} from "./symmetric.ts";
export {
  blindIdentifiers,
  blindInputs,
  type ClientBatch,
  combineResponses,
  type EvaluationRequest,
  evaluateAsHolder,
  type HolderKey,
  type HolderResponse,
  lagrangeAtZero,
  type ThresholdPublicKeys,
  verifyHolderResponse,
} from "./threshold.ts";
