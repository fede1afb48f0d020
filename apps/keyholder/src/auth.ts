/**
 * Authentication of member requests, exactly as the hub does it (packages/core/src/auth.ts; threat T7):
 * headers SIGNATURE_HEADERS, protocol `requestSigningMessage` over this holder's audience
 * (`keyHolderAudience(networkId, index)`: a request signed for another holder or for the hub does not verify
 * here), method, path, SHA-256(body), timestamp, nonce and key fingerprint; timestamp within ±MAX_CLOCK_SKEW_MS; Ed25519 strict verification (RFC 8032
 * §5.1.7, no ZIP-215 leniency); nonce remembered for the skew window. The signature is verified before
 * the nonce is recorded, so a forger cannot burn nonces. Here the key comes from the hub's member
 * directory, and nonces live in memory (repopulated on start from the usage ledger).
 */
import {
  MAX_CLOCK_SKEW_MS,
  parseSignatureHeaders,
  RelinkError,
  toBase64Url,
  type UnverifiedRequest,
  verifyRequestSignature,
} from "@relink/protocol";
import type { DirectoryKey, MemberDirectory } from "./directory.ts";

export type { UnverifiedRequest };

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

export async function authenticateMemberRequest(
  deps: { directory: MemberDirectory; nonces: NonceCache; clock: () => number; audience: string },
  req: UnverifiedRequest,
): Promise<Authenticated> {
  const parts = parseSignatureHeaders(req, deps.clock());
  const { fingerprint, nonce, timestampMs } = parts;
  const found = await deps.directory.require(fingerprint);
  verifyRequestSignature(req, parts, found.publicKey, deps.audience);
  const nonceKey = `${toBase64Url(fingerprint)}.${toBase64Url(nonce)}`;
  if (!deps.nonces.remember(nonceKey, timestampMs + MAX_CLOCK_SKEW_MS, deps.clock())) {
    throw new RelinkError("REPLAYED_REQUEST", "this nonce was already used");
  }
  return { ...found, nonceKey, timestampMs };
}
