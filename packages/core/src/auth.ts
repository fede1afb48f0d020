/**
 * Authentication of member requests (threat T7: replayed or forged requests).
 * Order matters: the signature is verified before the nonce is recorded, so a forger cannot burn nonces.
 * Suspension is checked by the use cases (`requireActive`), which log the denial.
 */
import {
  findActiveKeyWithMember,
  findActiveSigningKeyRememberingNonce,
  type Member,
  type MemberKey,
  rememberNonce,
} from "@relink/db";
import {
  bytesEqual,
  hubAudience,
  keyFingerprint,
  parseSignatureHeaders,
  RelinkError,
  type SignatureHeaders,
  toHex,
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
  const audience = hubAudience(deps.policy.networkId);
  const fingerprintHex = toHex(parts.fingerprint);
  const knownKey = signingKeyBytes.get(fingerprintHex);
  if (knownKey) {
    // The key's bytes are known (a fingerprint names exactly one key): verify first, then one statement
    // checks that the key is still active, reads its member and records the nonce (ADR 0044).
    const requestHash = verifyRequestSignature(req, parts, knownKey, audience);
    const found = await findActiveSigningKeyRememberingNonce(deps.db, {
      fingerprint: parts.fingerprint,
      nonce: parts.nonce,
      at: now,
    });
    if (!found) throw new RelinkError("UNKNOWN_KEY", "no active request-signing key with this fingerprint");
    if (!found.fresh) throw new RelinkError("REPLAYED_REQUEST", "this nonce was already used");
    return { member: found.member, key: found.key, requestHash };
  }
  // Key and member in one round trip (member_key.member_id references member: a key always has one).
  const found = await findActiveKeyWithMember(deps.db, parts.fingerprint);
  if (found?.key.purpose !== "request_signing" || found.key.algorithm !== "ed25519") {
    throw new RelinkError("UNKNOWN_KEY", "no active request-signing key with this fingerprint");
  }
  const { key, member } = found;
  const requestHash = await verifyAndRemember(deps, req, parts, key.publicKey, now);
  rememberSigningKey(fingerprintHex, parts.fingerprint, key.publicKey);
  return { member, key, requestHash };
}

/**
 * Public-key bytes by fingerprint, for keys that have verified a request here. Not a cache of anything that
 * can change: a fingerprint is SHA-256("ed25519" ‖ 0 ‖ key), so it names one key's bytes for ever (checked
 * before an entry is added). Whether the key is still active, and its member, are read on every request.
 */
const signingKeyBytes = new Map<string, Uint8Array>();
const SIGNING_KEYS_KEPT = 10_000;

function rememberSigningKey(fingerprintHex: string, fingerprint: Uint8Array, publicKey: Uint8Array): void {
  if (!bytesEqual(keyFingerprint("ed25519", publicKey), fingerprint)) return;
  if (signingKeyBytes.size >= SIGNING_KEYS_KEPT) signingKeyBytes.clear();
  signingKeyBytes.set(fingerprintHex, publicKey.slice());
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
