/**
 * The member directory, fetched from the hub (`GET {hub}/trpc/network.memberDirectory`, a tRPC query:
 * `{ result: { data: { members: [...] } } }`, protocol `memberDirectory`). Cached for a short TTL; a key
 * not in the cache triggers one refetch, at most once per `refetchMinMs`, so unknown keys cannot make the
 * holder hammer the hub. If the hub is unreachable the last good copy keeps being used (logged).
 *
 * The directory is not public (ADR 0040): the holder signs its read with its Ed25519 identity key, exactly
 * as members sign requests (protocol signing.ts), and the hub serves it only to keys it lists as holders,
 * administrators or DPOs.
 *
 * Trust: the hub is trusted for members' keys, status and quotas (README, "What it does not protect").
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  fromBase64Url,
  hubAudience,
  keyFingerprint,
  type MemberDirectoryEntry,
  memberDirectory,
  NONCE_BYTES,
  RelinkError,
  requestSigningMessage,
  SIGNATURE_HEADERS,
  toBase64Url,
} from "@relink/protocol";
import { HttpError, type Logger, relinkFetch } from "@relink/protocol/http";

export interface DirectoryMember {
  memberId: string;
  slug: string;
  status: "active" | "suspended";
  dailyEvaluationQuota: number;
}

export interface DirectoryKey {
  member: DirectoryMember;
  publicKey: Uint8Array;
}

export interface DirectoryOptions {
  hubUrl: string;
  /** How long a fetched directory is used before it is refetched. */
  ttlMs: number;
  /** Minimum time between two fetches triggered by unknown keys. */
  refetchMinMs: number;
  log: Logger;
  fetch?: typeof fetch;
  clock?: () => number;
  /** The holder's Ed25519 identity secret key: signs the directory read. */
  identitySecretKey?: Uint8Array;
  /** The network the hub serves: the directory read is signed for hubAudience(networkId) (ADR 0026). */
  networkId?: string;
}

/** The four x-relink-* signature headers for an empty-bodied GET of `url`, signed with `secretKey`. */
export function signedGetHeaders(
  url: string,
  secretKey: Uint8Array,
  nowMs: number,
  audience: string,
): Record<string, string> {
  const u = new URL(url);
  const fingerprint = keyFingerprint("ed25519", ed25519.getPublicKey(secretKey));
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const message = requestSigningMessage({
    audience,
    method: "GET",
    path: u.pathname + u.search,
    bodySha256: sha256(new Uint8Array()),
    timestampMs: nowMs,
    nonce,
    keyFingerprint: fingerprint,
  });
  return {
    [SIGNATURE_HEADERS.key]: toBase64Url(fingerprint),
    [SIGNATURE_HEADERS.timestamp]: String(nowMs),
    [SIGNATURE_HEADERS.nonce]: toBase64Url(nonce),
    [SIGNATURE_HEADERS.signature]: toBase64Url(ed25519.sign(message, secretKey)),
    [SIGNATURE_HEADERS.audience]: audience,
  };
}

export class MemberDirectory {
  readonly #o: DirectoryOptions;
  #byFingerprint = new Map<string, DirectoryKey>();
  #fetchedAt: number | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;

  constructor(o: DirectoryOptions) {
    this.#o = o;
  }

  get url(): string {
    return `${this.#o.hubUrl.replace(/\/+$/, "")}/trpc/network.memberDirectory`;
  }

  #now(): number {
    return (this.#o.clock ?? Date.now)();
  }

  async #fetch(): Promise<void> {
    this.#lastAttempt = this.#now();
    const headers = this.#o.identitySecretKey
      ? signedGetHeaders(
          this.url,
          this.#o.identitySecretKey,
          Date.now(),
          hubAudience(this.#o.networkId ?? ""),
        )
      : undefined;
    const res = await (this.#o.fetch ?? relinkFetch)(this.url, {
      signal: AbortSignal.timeout(10_000),
      ...(headers ? { headers } : {}),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const json = (await res.json()) as { result?: { data?: unknown } };
    const parsed = memberDirectory.safeParse(json?.result?.data);
    if (!parsed.success) throw new Error(`malformed member directory: ${parsed.error.issues[0]!.message}`);
    const next = new Map<string, DirectoryKey>();
    for (const m of parsed.data.members as MemberDirectoryEntry[]) {
      const member: DirectoryMember = {
        memberId: m.memberId,
        slug: m.slug,
        status: m.status,
        dailyEvaluationQuota: m.dailyEvaluationQuota,
      };
      for (const k of m.signingKeys) {
        const publicKey = fromBase64Url(k);
        next.set(toBase64Url(keyFingerprint("ed25519", publicKey)), { member, publicKey });
      }
    }
    this.#byFingerprint = next;
    this.#fetchedAt = this.#now();
    this.#o.log.info("directory.fetched", { members: parsed.data.members.length });
  }

  /** Fetches (deduplicating concurrent callers); on failure keeps the old copy if there is one. */
  async #refresh(): Promise<void> {
    this.#inflight ??= this.#fetch()
      .catch((error: unknown) => {
        this.#o.log.warn("directory.fetch_failed", { url: this.url, error: String(error) });
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    await this.#inflight;
  }

  async find(fingerprint: Uint8Array): Promise<DirectoryKey | undefined> {
    const now = this.#now();
    if (this.#fetchedAt === undefined || now - this.#fetchedAt > this.#o.ttlMs) await this.#refresh();
    if (this.#fetchedAt === undefined) {
      throw new HttpError(503, "UNAVAILABLE", "the member directory is not available from the hub");
    }
    const fp = toBase64Url(fingerprint);
    const hit = this.#byFingerprint.get(fp);
    if (hit) return hit;
    if (this.#now() - this.#lastAttempt >= this.#o.refetchMinMs) {
      await this.#refresh();
      return this.#byFingerprint.get(fp);
    }
    return undefined;
  }

  /** The member for a fingerprint or UNKNOWN_KEY. */
  async require(fingerprint: Uint8Array): Promise<DirectoryKey> {
    const k = await this.find(fingerprint);
    if (!k) throw new RelinkError("UNKNOWN_KEY", "no member request-signing key with this fingerprint");
    return k;
  }
}
