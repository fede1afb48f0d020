/**
 * The member directory, fetched from the hub (`GET {hub}/trpc/network.memberDirectory`, a tRPC query:
 * `{ result: { data: { members: [...] } } }`, protocol `memberDirectory`). Cached for a short TTL; a key
 * not in the cache triggers one refetch, at most once per `refetchMinMs`, so unknown keys cannot make the
 * holder hammer the hub. If the hub is unreachable the last good copy keeps being used (logged).
 *
 * Trust: the hub is trusted for members' keys, status and quotas (README, "What it does not protect").
 */
import {
  fromBase64Url,
  keyFingerprint,
  type MemberDirectoryEntry,
  memberDirectory,
  RelinkError,
  toBase64Url,
} from "@relink/protocol";
import { relinkFetch } from "@relink/protocol/http";
import { StatusError } from "./http.ts";
import type { Logger } from "./logger.ts";

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
    const res = await (this.#o.fetch ?? relinkFetch)(this.url, { signal: AbortSignal.timeout(10_000) });
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
      throw new StatusError(503, "UNAVAILABLE", "the member directory is not available from the hub");
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
