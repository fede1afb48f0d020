/**
 * Revocations reach the key holders at once (ADR 0038). Key holders follow the member directory with a long
 * poll: they name the version they hold and the hub answers when the directory's version differs — at once if
 * it already does, else as soon as a commit moves it, else after the wait (then with the same version).
 *
 * The version lives in the database (`member_directory_version`, moved at commit by a trigger on `member` and
 * `member_key`), so every writer moves it: this process's use cases, the sanction ladder, another process on
 * the same database, an operator's psql. One watcher per hub process reads it every `pollMs` while at least
 * one holder waits — one primary-key read per interval however many holders wait, none when nobody does —
 * and wakes the waiters whose version is stale. A waiting request holds no database connection.
 */
import { memberDirectoryVersion } from "@relink/db";
import type { MemberDirectoryEntry } from "@relink/protocol";
import type { CoreDeps, Logger } from "./context.ts";
import { memberDirectory } from "./members.ts";

export interface MemberDirectoryWatchOptions {
  /** How often the version is read while someone waits. */
  pollMs: number;
  /** The longest a request may wait (a longer `waitMs` is cut to this). */
  maxWaitMs: number;
}

export const MEMBER_DIRECTORY_WATCH_DEFAULTS: MemberDirectoryWatchOptions = {
  pollMs: 200,
  maxWaitMs: 30_000,
};

interface Waiter {
  known: bigint;
  wake: () => void;
}

export class MemberDirectoryWatch {
  readonly options: MemberDirectoryWatchOptions;
  readonly #read: () => Promise<bigint>;
  readonly #log: Pick<Logger, "warn">;
  readonly #waiters = new Set<Waiter>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #closed = false;

  constructor(
    deps: { read: () => Promise<bigint>; log: Pick<Logger, "warn"> },
    options: Partial<MemberDirectoryWatchOptions> = {},
  ) {
    this.options = { ...MEMBER_DIRECTORY_WATCH_DEFAULTS, ...options };
    if (!(this.options.pollMs > 0)) throw new RangeError("pollMs must be positive");
    if (!(this.options.maxWaitMs >= 0)) throw new RangeError("maxWaitMs must not be negative");
    this.#read = deps.read;
    this.#log = deps.log;
  }

  /** Resolves once the version differs from `known` (as read by the watcher), after `waitMs`, or on close. */
  waitForChange(known: bigint, waitMs: number): Promise<void> {
    const ms = Math.min(waitMs, this.options.maxWaitMs);
    if (this.#closed || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        known,
        wake: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, ms);
      this.#waiters.add(waiter);
      this.#schedule();
    });
  }

  get waiting(): number {
    return this.#waiters.size;
  }

  #schedule(): void {
    if (this.#timer || this.#polling || this.#closed || this.#waiters.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, this.options.pollMs);
  }

  async #poll(): Promise<void> {
    this.#polling = true;
    try {
      const version = await this.#read();
      for (const w of [...this.#waiters]) if (w.known !== version) w.wake();
    } catch (error) {
      // A failed read (database restarting) is retried on the next tick; waiters time out as usual.
      this.#log.warn("directory.version_read_failed", { error: String(error) });
    } finally {
      this.#polling = false;
      this.#schedule();
    }
  }

  /** Wakes every waiter (they answer with what they have) and stops polling: call before closing the server. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of [...this.#waiters]) w.wake();
  }
}

/** A watcher reading the version from the use cases' database. */
export function createMemberDirectoryWatch(
  deps: Pick<CoreDeps, "db" | "log">,
  options: Partial<MemberDirectoryWatchOptions> = {},
): MemberDirectoryWatch {
  return new MemberDirectoryWatch({ read: () => memberDirectoryVersion(deps.db), log: deps.log }, options);
}

export interface VersionedMemberDirectory {
  version: number;
  members: MemberDirectoryEntry[];
}

/**
 * The member directory with its version. With `knownVersion` equal to the current version and a `waitMs`,
 * waits (long poll, at most the watcher's `maxWaitMs`; not at all without a watcher) for the next change.
 * The version is read before the directory, so the directory is at least as new as the version says.
 */
export async function followMemberDirectory(
  deps: Pick<CoreDeps, "db" | "memberDirectoryWatch">,
  request: { knownVersion?: number | undefined; waitMs?: number | undefined } = {},
): Promise<VersionedMemberDirectory> {
  let version = await memberDirectoryVersion(deps.db);
  const watch = deps.memberDirectoryWatch;
  if (watch && request.knownVersion !== undefined && BigInt(request.knownVersion) === version) {
    await watch.waitForChange(version, request.waitMs ?? 0);
    version = await memberDirectoryVersion(deps.db);
  }
  return { version: Number(version), members: await memberDirectory(deps) };
}
