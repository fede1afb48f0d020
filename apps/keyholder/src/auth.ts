/**
 * Authentication of member requests, exactly as the hub does it (packages/core/src/auth.ts; threat T7):
 * headers SIGNATURE_HEADERS, protocol `requestSigningMessage` over method, path, SHA-256(body), timestamp,
 * nonce and key fingerprint; timestamp within ±MAX_CLOCK_SKEW_MS; Ed25519 strict verification (RFC 8032
 * §5.1.7, no ZIP-215 leniency); nonce remembered for the skew window. The signature is verified before
 * the nonce is recorded, so a forger cannot burn nonces. Here the key comes from the hub's member
 * directory, and nonces live in memory (repopulated on start from the usage ledger).
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  EncodingError,
  fromBase64Url,
  MAX_CLOCK_SKEW_MS,
  NONCE_BYTES,
  RelinkError,
  requestSigningMessage,
  SIGNATURE_HEADERS,
  toBase64Url,
} from "@relink/protocol";
import type { DirectoryKey, MemberDirectory } from "./directory.ts";

export interface UnverifiedRequest {
  method: string;
  /** Path and query exactly as received. */
  path: string;
  body: Uint8Array;
  header(name: string): string | undefined;
}

export interface Authenticated extends DirectoryKey {
  /** `<fingerprint>.<nonce>` (base64url): recorded with the usage so a restart still refuses replays. */
  nonceKey: string;
  timestampMs: number;
}

/** Nonces seen within the skew window, each kept until its request's timestamp + MAX_CLOCK_SKEW_MS. */
export class NonceCache {
  readonly #expires = new Map<string, number>();
  #nextPrune = 0;

  /** False if the nonce is already known (a replay). */
  remember(key: string, expiresAt: number, now: number): boolean {
    if (now >= this.#nextPrune) this.prune(now);
    const known = this.#expires.get(key);
    if (known !== undefined && known > now) return false;
    this.#expires.set(key, expiresAt);
    return true;
  }

  prune(now: number): void {
    for (const [k, t] of this.#expires) if (t <= now) this.#expires.delete(k);
    this.#nextPrune = now + 30_000;
  }

  get size(): number {
    return this.#expires.size;
  }
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

export async function authenticateMemberRequest(
  deps: { directory: MemberDirectory; nonces: NonceCache; clock: () => number },
  req: UnverifiedRequest,
): Promise<Authenticated> {
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
  const now = deps.clock();
  if (Math.abs(now - timestampMs) > MAX_CLOCK_SKEW_MS) {
    throw new RelinkError(
      "STALE_REQUEST",
      `request timestamp is more than ${MAX_CLOCK_SKEW_MS / 1000} s from the key holder's clock`,
    );
  }
  const found = await deps.directory.require(fingerprint);
  const message = requestSigningMessage({
    method: req.method,
    path: req.path,
    bodySha256: sha256(req.body),
    timestampMs,
    nonce,
    keyFingerprint: fingerprint,
  });
  let valid = false;
  try {
    valid = ed25519.verify(signature, message, found.publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) throw new RelinkError("BAD_SIGNATURE", "signature does not verify");
  const nonceKey = `${toBase64Url(fingerprint)}.${toBase64Url(nonce)}`;
  if (!deps.nonces.remember(nonceKey, timestampMs + MAX_CLOCK_SKEW_MS, deps.clock())) {
    throw new RelinkError("REPLAYED_REQUEST", "this nonce was already used");
  }
  return { ...found, nonceKey, timestampMs };
}
