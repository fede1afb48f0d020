/**
 * The browser entry of the SDK (the portal's Web Worker): the member node without the exposure (node-seal)
 * parts and without Node built-ins. Everything here is also exported from the package root.
 */
export { createHubClient, type HubClient, wireError } from "./hub-client.ts";
export { type NewKeySigner, rotateDpoKey, rotateSigningKey, signingKeyFingerprint } from "./key-rotation.ts";
export { type DebtorMatch, type MatchedContact, MemberNode, type MemberSecrets } from "./node.ts";
export {
  type ConsentRow,
  type ContactRow,
  type DebtorRow,
  parseConsentRows,
  parseContactRows,
  parseDebtorRows,
  type UploadError,
} from "./rows.ts";
export { ed25519Signer, type RequestSigner, signedFetch, webCryptoSigner } from "./signing.ts";
export { singleThreaded } from "./tags.ts";
