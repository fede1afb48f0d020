/**
 * Authentication of member requests (threat T7: replayed or forged requests).
 * Order matters: the signature is verified before the nonce is recorded, so a forger cannot burn nonces.
 * Suspension is checked by the use cases (`requireActive`), which log the denial.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  findActiveKeyByFingerprint,
  findMemberById,
  type Member,
  type MemberKey,
  rememberNonce,
} from "@relink/db";
import {
  bytesEqual,
  EncodingError,
  fromBase64Url,
  keyFingerprint,
  MAX_CLOCK_SKEW_MS,
  NONCE_BYTES,
  RelinkError,
  requestSigningMessage,
  SIGNATURE_HEADERS,
} from "@relink/protocol";
import type { CoreDeps } from "./context.ts";

export interface UnverifiedRequest {
  method: string;
  path: string;
  body: Uint8Array;
  header(name: string): string | undefined;
}

export interface AuthenticatedMember {
  member: Member;
  key: MemberKey;
  requestHash: Uint8Array;
}

function headerBytes(req: UnverifiedRequest, name: string, length: number): Uint8Array {
  const value = req.header(name);
  if (!value) throw new RelinkError("BAD_SIGNATURE", `missing header ${name}`);
  try {
    const bytes = fromBase64Url(value);
    if (bytes.length !== length) throw new EncodingError(`expected ${length} bytes`);
    return bytes;
  } catch (error) {
    throw new RelinkError("BAD_SIGNATURE", `header ${name}: ${(error as Error).message}`);
  }
}

interface SignedParts {
  fingerprint: Uint8Array;
  nonce: Uint8Array;
  signature: Uint8Array;
  timestampMs: number;
}

/** Parses the signature headers and checks the clock skew; no database access. */
function signedParts(req: UnverifiedRequest, now: Date): SignedParts {
  const fingerprint = headerBytes(req, SIGNATURE_HEADERS.key, 32);
  const nonce = headerBytes(req, SIGNATURE_HEADERS.nonce, NONCE_BYTES);
  const signature = headerBytes(req, SIGNATURE_HEADERS.signature, 64);
  const tsText = req.header(SIGNATURE_HEADERS.timestamp) ?? "";
  if (!/^\d{1,15}$/.test(tsText)) {
    throw new RelinkError(
      "BAD_SIGNATURE",
      `header ${SIGNATURE_HEADERS.timestamp}: not a decimal ms timestamp`,
    );
  }
  const timestampMs = Number(tsText);
  if (Math.abs(now.getTime() - timestampMs) > MAX_CLOCK_SKEW_MS) {
    throw new RelinkError(
      "STALE_REQUEST",
      `request timestamp is more than ${MAX_CLOCK_SKEW_MS / 1000} s from the hub's clock`,
    );
  }
  return { fingerprint, nonce, signature, timestampMs };
}

/** Verifies the Ed25519 signature (strict RFC 8032 verification), then records the nonce. */
async function verifyAndRemember(
  deps: Pick<CoreDeps, "db">,
  req: UnverifiedRequest,
  parts: SignedParts,
  publicKey: Uint8Array,
  now: Date,
): Promise<Uint8Array> {
  const message = requestSigningMessage({
    method: req.method,
    path: req.path,
    bodySha256: sha256(req.body),
    timestampMs: parts.timestampMs,
    nonce: parts.nonce,
    keyFingerprint: parts.fingerprint,
  });
  let valid = false;
  try {
    valid = ed25519.verify(parts.signature, message, publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw new RelinkError("BAD_SIGNATURE", "signature does not verify");
  if (!(await rememberNonce(deps.db, parts.fingerprint, parts.nonce, now))) {
    throw new RelinkError("REPLAYED_REQUEST", "this nonce was already used");
  }
  // The request hash binds audit leaves to exactly what was signed.
  return sha256(message);
}

export async function authenticateMemberRequest(
  deps: Pick<CoreDeps, "db" | "clock">,
  req: UnverifiedRequest,
): Promise<AuthenticatedMember> {
  const now = deps.clock();
  const parts = signedParts(req, now);
  const key = await findActiveKeyByFingerprint(deps.db, parts.fingerprint);
  if (key?.purpose !== "request_signing" || key.algorithm !== "ed25519") {
    throw new RelinkError("UNKNOWN_KEY", "no active request-signing key with this fingerprint");
  }
  const member = await findMemberById(deps.db, key.memberId);
  if (!member) throw new RelinkError("UNKNOWN_KEY", "key belongs to no member");
  const requestHash = await verifyAndRemember(deps, req, parts, key.publicKey, now);
  return { member, key, requestHash };
}

/** Network administrators sign like members, with keys from the hub's configuration. */
export async function authenticateAdminRequest(
  deps: Pick<CoreDeps, "db" | "clock">,
  req: UnverifiedRequest,
  adminKeys: Uint8Array[],
): Promise<{ publicKey: Uint8Array; requestHash: Uint8Array }> {
  const now = deps.clock();
  const parts = signedParts(req, now);
  const publicKey = adminKeys.find((k) => bytesEqual(keyFingerprint("ed25519", k), parts.fingerprint));
  if (!publicKey) throw new RelinkError("UNKNOWN_KEY", "not a network administrator key");
  const requestHash = await verifyAndRemember(deps, req, parts, publicKey, now);
  return { publicKey, requestHash };
}
