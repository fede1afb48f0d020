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
 * Revocations (ADR 0038): `follow()` keeps one long poll open on the same endpoint, naming the directory
 * version this holder has; the hub answers as soon as a commit changes a member or a key (a rotation, a
 * revocation, a suspension), and the holder swaps its copy in. A revoked key or a suspended member is
 * refused within about a second; the TTL stays as the fallback for when the poll cannot reach the hub.
 * A failed poll is retried with exponential backoff and full jitter (base 200 ms, capped at 5 s), after the
 * request layer's own retries; every wait and timeout is an option.
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
  /** How long one long poll asks the hub to wait for a change (ADR 0038); 0: do not follow. Default 25 s. */
  waitMs?: number;
  /** Bound on one directory request beyond the long poll's wait. Default 10 s. */
  requestTimeoutMs?: number;
  /** Backoff after a failed long poll: uniform in [0, min(max, base · 2^(n−1))]. Default 200 ms, 5 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export const DIRECTORY_DEFAULTS = {
  waitMs: 25_000,
  requestTimeoutMs: 10_000,
  retryBaseMs: 200,
  retryMaxMs: 5_000,
} as const;

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
  /** The version of the copy held (ADR 0038); undefined before the first fetch or from an older hub. */
  #version: number | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  #following: { stop: AbortController; done: Promise<void> } | undefined;

  constructor(o: DirectoryOptions) {
    this.#o = o;
  }

  get url(): string {
    return `${this.#o.hubUrl.replace(/\/+$/, "")}/trpc/network.memberDirectory`;
  }

  /** The version of the directory held, if the hub gives one. */
  get version(): number | undefined {
    return this.#version;
  }

  #now(): number {
    return (this.#o.clock ?? Date.now)();
  }

  /** One signed read; with `poll`, a long poll that the hub answers when the version differs from `known`. */
  async #fetch(poll?: { known: number; waitMs: number; signal: AbortSignal }): Promise<boolean> {
    if (!poll) this.#lastAttempt = this.#now();
    const url = poll
      ? `${this.url}?input=${encodeURIComponent(JSON.stringify({ knownVersion: poll.known, waitMs: poll.waitMs }))}`
      : this.url;
    const headers = this.#o.identitySecretKey
      ? signedGetHeaders(url, this.#o.identitySecretKey, Date.now(), hubAudience(this.#o.networkId ?? ""))
      : undefined;
    const timeout = AbortSignal.timeout(
      (poll?.waitMs ?? 0) + (this.#o.requestTimeoutMs ?? DIRECTORY_DEFAULTS.requestTimeoutMs),
    );
    const res = await (this.#o.fetch ?? relinkFetch)(url, {
      signal: poll ? AbortSignal.any([timeout, poll.signal]) : timeout,
      ...(headers ? { headers } : {}),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const json = (await res.json()) as { result?: { data?: unknown } };
    const parsed = memberDirectory.safeParse(json?.result?.data);
    if (!parsed.success) throw new Error(`malformed member directory: ${parsed.error.issues[0]!.message}`);
    const { version } = parsed.data;
    // Two reads may cross (a long poll and an unknown-key refetch): never go back to an older copy.
    if (version !== undefined && this.#version !== undefined && version < this.#version) return false;
    const changed = version === undefined || version !== this.#version || this.#fetchedAt === undefined;
    if (changed) {
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
    }
    this.#version = version;
    this.#fetchedAt = this.#now();
    if (changed) {
      this.#o.log.info("directory.fetched", {
        members: parsed.data.members.length,
        ...(version !== undefined ? { version } : {}),
        ...(poll ? { pushed: true } : {}),
      });
    }
    return changed;
  }

  /**
   * Follows the directory by long poll until `close()` (ADR 0038). Each answer replaces the copy and renews
   * the TTL; a failure is logged and retried after a jittered backoff, the copy in hand staying in use.
   */
  follow(): void {
    const waitMs = this.#o.waitMs ?? DIRECTORY_DEFAULTS.waitMs;
    if (this.#following || waitMs <= 0) return;
    const stop = new AbortController();
    const base = this.#o.retryBaseMs ?? DIRECTORY_DEFAULTS.retryBaseMs;
    const max = this.#o.retryMaxMs ?? DIRECTORY_DEFAULTS.retryMaxMs;
    const loop = async () => {
      let failures = 0;
      while (!stop.signal.aborted) {
        try {
          if (this.#version === undefined) await this.#refresh();
          if (this.#version === undefined) {
            if (this.#fetchedAt === undefined) throw new Error("no member directory from the hub yet");
            // A hub that predates ADR 0038 gives no version: the TTL alone keeps the copy fresh.
            this.#o.log.warn("directory.follow_unsupported", { url: this.url });
            return;
          }
          const started = Date.now();
          const changed = await this.#fetch({ known: this.#version, waitMs, signal: stop.signal });
          failures = 0;
          // A hub that does not hold polls (its RELINK_DIRECTORY_MAX_WAIT_MS is 0) answers at once: poll
          // every retryMaxMs then, never in a tight loop.
          if (!changed && Date.now() - started < base) await sleep(max, stop.signal);
        } catch (error) {
          if (stop.signal.aborted) return;
          failures++;
          const delay = Math.random() * Math.min(max, base * 2 ** (failures - 1));
          this.#o.log.warn("directory.follow_failed", {
            error: String(error),
            failures,
            retryMs: Math.round(delay),
          });
          await sleep(delay, stop.signal);
        }
      }
    };
    this.#following = { stop, done: loop() };
  }

  /** Stops following; resolves once the long poll in flight has been abandoned. */
  async close(): Promise<void> {
    const f = this.#following;
    if (!f) return;
    this.#following = undefined;
    f.stop.abort();
    await f.done;
  }

  /** Fetches (deduplicating concurrent callers); on failure keeps the old copy if there is one. */
  async #refresh(): Promise<void> {
    this.#inflight ??= this.#fetch()
      .then(() => undefined)
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

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
