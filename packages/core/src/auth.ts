/**
 * Authentication of member requests (threat T7: replayed or forged requests).
 * Order matters: the signature is verified before the nonce is recorded, so a forger cannot burn nonces.
 * Suspension is checked by the use cases (`requireActive`), which log the denial.
 */
import { findActiveKeyWithMember, type Member, type MemberKey, rememberNonce } from "@relink/db";
import {
  bytesEqual,
  hubAudience,
  keyFingerprint,
  parseSignatureHeaders,
  RelinkError,
  type SignatureHeaders,
  type UnverifiedRequest,
  verifyRequestSignature,
} from "@relink/protocol";
import type { CoreDeps } from "./context.ts";

export type { UnverifiedRequest };

export interface AuthenticatedMember {
  member: Member;
  key: MemberKey;
  /** SHA-256 of the signed message: binds audit leaves to exactly what was signed. */
  requestHash: Uint8Array;
}

/**
 * Verifies the signature (protocol's shared check) for this hub's audience — a request signed for a key
 * holder, or for another network's hub, does not verify here — then records the nonce in the database.
 */
async function verifyAndRemember(
  deps: Pick<CoreDeps, "db" | "policy">,
  req: UnverifiedRequest,
  parts: SignatureHeaders,
  publicKey: Uint8Array,
  now: Date,
): Promise<Uint8Array> {
  const requestHash = verifyRequestSignature(req, parts, publicKey, hubAudience(deps.policy.networkId));
  if (!(await rememberNonce(deps.db, parts.fingerprint, parts.nonce, now))) {
    throw new RelinkError("REPLAYED_REQUEST", "this nonce was already used");
  }
  return requestHash;
}

export async function authenticateMemberRequest(
  deps: Pick<CoreDeps, "db" | "clock" | "policy">,
  req: UnverifiedRequest,
): Promise<AuthenticatedMember> {
  const now = deps.clock();
  const parts = parseSignatureHeaders(req, now.getTime());
  // Key and member in one round trip (member_key.member_id references member: a key always has one).
  const found = await findActiveKeyWithMember(deps.db, parts.fingerprint);
  if (found?.key.purpose !== "request_signing" || found.key.algorithm !== "ed25519") {
    throw new RelinkError("UNKNOWN_KEY", "no active request-signing key with this fingerprint");
  }
  const { key, member } = found;
  const requestHash = await verifyAndRemember(deps, req, parts, key.publicKey, now);
  return { member, key, requestHash };
}

/** Network administrators sign like members, with keys from the hub's configuration. */
export async function authenticateAdminRequest(
  deps: Pick<CoreDeps, "db" | "clock" | "policy">,
  req: UnverifiedRequest,
  adminKeys: Uint8Array[],
): Promise<{ publicKey: Uint8Array; requestHash: Uint8Array }> {
  const now = deps.clock();
  const parts = parseSignatureHeaders(req, now.getTime());
  const publicKey = adminKeys.find((k) => bytesEqual(keyFingerprint("ed25519", k), parts.fingerprint));
  if (!publicKey) throw new RelinkError("UNKNOWN_KEY", "not a network administrator key");
  const requestHash = await verifyAndRemember(deps, req, parts, publicKey, now);
  return { publicKey, requestHash };
}
