/**
 * Signs every request to the hub with the member's Ed25519 request-signing key (see protocol/signing.ts).
 * Wraps `fetch`, so the signature covers exactly the method, path and body bytes that are sent. The inner
 * fetch is protocol's request layer (`relinkFetch`): a retry after a closed connection resends these exact
 * bytes — same nonce — so a request the server did process is refused as a replay, never done twice.
 */
import {
  ed25519SignerFor,
  keyFingerprint,
  NONCE_BYTES,
  requestSigningMessage,
  SIGNATURE_HEADERS,
  sha256Bytes,
  toBase64Url,
} from "@relink/protocol";
import { relinkFetch } from "@relink/protocol/http";

export interface RequestSigner {
  /** SHA-256(algorithm || 0x00 || public key), as the hub registers it. */
  fingerprint: Uint8Array;
  /** Synchronous (noble) or asynchronous (WebCrypto with a non-extractable key in a browser). */
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Signs with node:crypto on Node (≈ 20× faster than pure JS), noble in browsers; same bytes either way. */
export function ed25519Signer(secretKey: Uint8Array): RequestSigner {
  const { publicKey, sign } = ed25519SignerFor(secretKey);
  return { fingerprint: keyFingerprint("ed25519", publicKey), sign };
}

function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined || body === null) return new Uint8Array();
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  throw new TypeError("signed requests need a string or byte body");
}

/**
 * A signer over a WebCrypto Ed25519 key (RFC 8032 via WebCrypto, Secure Curves): the key may be
 * non-extractable, so the secret never enters JavaScript memory (the portal keeps it in IndexedDB).
 */
export function webCryptoSigner(privateKey: CryptoKey, publicKey: Uint8Array): RequestSigner {
  return {
    fingerprint: keyFingerprint("ed25519", publicKey),
    sign: async (m) =>
      new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, m as Uint8Array<ArrayBuffer>)),
  };
}

export function signedFetch(
  signer: RequestSigner,
  deps: { fetch?: typeof fetch; clock?: () => number; random?: (n: number) => Uint8Array } = {},
): typeof fetch {
  const doFetch = deps.fetch ?? relinkFetch;
  const clock = deps.clock ?? Date.now;
  const random = deps.random ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const method = (init?.method ?? "GET").toUpperCase();
    const body = bodyBytes(init?.body);
    const timestampMs = clock();
    const nonce = random(NONCE_BYTES);
    const message = requestSigningMessage({
      method,
      path: url.pathname + url.search,
      bodySha256: sha256Bytes(body),
      timestampMs,
      nonce,
      keyFingerprint: signer.fingerprint,
    });
    const headers = new Headers(init?.headers);
    headers.set(SIGNATURE_HEADERS.key, toBase64Url(signer.fingerprint));
    headers.set(SIGNATURE_HEADERS.timestamp, String(timestampMs));
    headers.set(SIGNATURE_HEADERS.nonce, toBase64Url(nonce));
    headers.set(SIGNATURE_HEADERS.signature, toBase64Url(await signer.sign(message)));
    return doFetch(url, { ...init, method, headers });
  }) as typeof fetch;
}
