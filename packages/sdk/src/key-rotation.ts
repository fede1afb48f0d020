/**
 * Rotating the member's request-signing key (ADR 0068), for the CLI and the browser alike (no Node
 * built-ins). The caller makes the new key where it will live — on the member's machine, in the browser's
 * worker — and passes only its signing function: the secret key never reaches this module. The rotation
 * request is signed by the hub client's signer (the current key); inside it the new key proves possession
 * over the protocol's key-rotation statement. A member DPO's key rotates the same way (`rotateDpoKey`,
 * ADR 0037) under the statement's DPO domain string.
 */
import {
  DPO_KEY_ROTATION_DST,
  keyFingerprint,
  keyRotationMessage,
  NONCE_BYTES,
  type RotateKeyOutput,
  rotateKeyRequest,
  toBase64Url,
} from "@relink/protocol";
import type { HubClient } from "./hub-client.ts";

export interface NewKeySigner {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/**
 * Asks the hub to replace the current key (the one `hub` signs with, named by `currentFingerprint`) with
 * `newKey`. Resolves once the hub has committed the rotation: from then on only `newKey` signs.
 */
export async function rotateSigningKey(
  hub: HubClient,
  o: { currentFingerprint: Uint8Array; newKey: NewKeySigner; now?: () => number },
): Promise<RotateKeyOutput & { receipt: unknown }> {
  const [info, me] = await Promise.all([hub.network.info.query(), hub.network.whoami.query()]);
  const timestampMs = (o.now ?? Date.now)();
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const statement = {
    networkId: info.networkId,
    memberId: me.id,
    oldKeyFingerprint: o.currentFingerprint,
    newPublicKey: o.newKey.publicKey,
    timestampMs,
    nonce,
  };
  // The statement the hub checks (protocol keyRotationMessage); a WebCrypto key signs asynchronously.
  const proof = await o.newKey.sign(keyRotationMessage(statement));
  const r = await hub.member.rotateKey.mutate(rotateKeyRequest(statement, proof));
  return { ...r, receipt: r.receipt };
}

/** The fingerprint the hub registers for an Ed25519 public key (base64url), for display and checks. */
export function signingKeyFingerprint(publicKey: Uint8Array): string {
  return toBase64Url(keyFingerprint("ed25519", publicKey));
}

/**
 * Asks the hub to replace the member DPO key `hub` signs with (named by `currentFingerprint`) with `newKey`
 * (ADR 0037). The member comes from `dpo.commitmentKey`, which only a member DPO may read: a network DPO
 * gets FORBIDDEN (its key lives in the hub's network config).
 */
export async function rotateDpoKey(
  hub: HubClient,
  o: { currentFingerprint: Uint8Array; newKey: NewKeySigner; now?: () => number },
): Promise<RotateKeyOutput & { receipt: unknown }> {
  const [info, member] = await Promise.all([hub.network.info.query(), hub.dpo.commitmentKey.query()]);
  const statement = {
    networkId: info.networkId,
    memberId: member.memberId,
    oldKeyFingerprint: o.currentFingerprint,
    newPublicKey: o.newKey.publicKey,
    timestampMs: (o.now ?? Date.now)(),
    nonce: crypto.getRandomValues(new Uint8Array(NONCE_BYTES)),
  };
  const proof = await o.newKey.sign(keyRotationMessage(statement, DPO_KEY_ROTATION_DST));
  const r = await hub.dpo.rotateKey.mutate(rotateKeyRequest(statement, proof));
  return { ...r, receipt: r.receipt };
}
