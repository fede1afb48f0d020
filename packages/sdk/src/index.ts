export * from "./columns.ts";
export * from "./consent-proofs.ts";
export * from "./csv.ts";
export * from "./dpo.ts";
export * from "./exposure.ts";
export * from "./exposure-book.ts";
export * from "./exposure-client.ts";
export * from "./exposure-present.ts";
export { createHubClient, type HubClient, wireError } from "./hub-client.ts";
export * from "./key-rotation.ts";
export * from "./node.ts";
export * from "./rows.ts";
export {
  type AudienceOf,
  ed25519Signer,
  hubAudienceOf,
  type RequestSigner,
  signedFetch,
  webCryptoSigner,
} from "./signing.ts";
export {
  computeTags,
  type HolderEndpoint,
  HolderError,
  pooled,
  singleThreaded,
  type TagCrypto,
  type TagDeps,
  type TagKeysFor,
} from "./tags.ts";
