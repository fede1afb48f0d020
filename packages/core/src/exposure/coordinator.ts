/**
 * The in-process round coordinator of exposure queries (ADR 0033). One instance per hub process, created by
 * the app and passed in CoreDeps: it holds the lenders' tasks for their long polls and collects their
 * submissions for the rounds that are running. Nothing here is persisted: a hub restart abandons the
 * rounds in flight (their queriers' requests die with the process).
 *
 * Every submitted ciphertext is validated with @relink/he before it is kept; a refused submission drops
 * that lender from the round and never throws out of the coordinator. Valid submissions are added into
 * the round's accumulator as they arrive, so the hub holds at most two submissions' worth of ciphertexts
 * per round; the accumulator is handed over only if every participant answered validly (otherwise the
 * pairwise masks would not cancel) and is freed otherwise.
 */

import type { HeCiphertext, HeContext } from "@relink/he";
import type { ExposureTask } from "@relink/protocol";

export interface CoordinatorTimers {
  /** Unix milliseconds (task deadlines are stated in this clock). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: CoordinatorTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const h = setTimeout(fn, ms);
    h.unref?.();
    return h;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RoundSpec {
  queryId: string;
  round: number;
  /** The preset's context: submissions are loaded and added under it. */
  context: HeContext;
  /** Ciphertexts each participant must send. */
  ciphertextCount: number;
  /** Unix ms (the coordinator's clock) after which submissions are refused as late. */
  deadline: number;
  /** One task per participant, keyed by member id. */
  tasks: ReadonlyMap<string, ExposureTask>;
  /**
   * Told the milliseconds each submission took to validate and add, wall and this thread's CPU time
   * (diagnostics: the hub's HE work; on a loaded machine the wall time includes other processes' turns).
   */
  onAbsorbed?: (ms: number, cpuMs: number) => void;
}

export interface RoundOutcome {
  /** Participants whose submission was valid and is in the sum. */
  valid: string[];
  /** Participants whose submission was refused (malformed, wrong count, wrong parameters). */
  refused: string[];
  /** Participants that did not answer before the deadline. */
  missing: string[];
  /** When every participant answered validly: the sum, owned by the caller (dispose it). */
  sum?: HeCiphertext[];
}

export type SubmitResult =
  | { status: "accepted" }
  /** No such live round for this member (ended, never existed, not a participant, already answered). */
  | { status: "not_accepted"; reason: "late" | "not_participant" | "duplicate" }
  | { status: "refused"; reason: string };

interface LiveRound {
  spec: RoundSpec;
  answered: Set<string>;
  valid: string[];
  refused: string[];
  accumulator: HeCiphertext[] | undefined;
  timer: unknown;
  resolve: (outcome: RoundOutcome) => void;
}

interface Waiter {
  resolve: (tasks: ExposureTask[]) => void;
  timer: unknown;
}

const roundKey = (queryId: string, round: number) => `${queryId}/${round}`;

export class ExposureCoordinator {
  readonly #timers: CoordinatorTimers;
  readonly #rounds = new Map<string, LiveRound>();
  /** Tasks posted and not yet delivered, per member. */
  readonly #pending = new Map<string, ExposureTask[]>();
  readonly #waiters = new Map<string, Waiter[]>();
  #closed = false;

  constructor(options: { timers?: CoordinatorTimers } = {}) {
    this.#timers = options.timers ?? realTimers;
  }

  now(): number {
    return this.#timers.now();
  }

  /** True once close() has run: polls answer empty at once, rounds fail. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Polls (and task streams) of this member waiting for a task (for tests and metrics). */
  pollsWaiting(memberId: string): number {
    return this.#waiters.get(memberId)?.length ?? 0;
  }

  /** Rounds currently waiting for submissions (for tests and metrics). */
  get liveRounds(): number {
    return this.#rounds.size;
  }

  /**
   * Posts the round's tasks, wakes the participants' long polls and resolves when every participant has
   * answered (validly or not) or the deadline has passed.
   */
  runRound(spec: RoundSpec): Promise<RoundOutcome> {
    const key = roundKey(spec.queryId, spec.round);
    if (this.#closed) return Promise.resolve({ valid: [], refused: [], missing: [...spec.tasks.keys()] });
    if (this.#rounds.has(key)) throw new Error(`round ${key} is already running`);
    return new Promise<RoundOutcome>((resolve) => {
      const live: LiveRound = {
        spec,
        answered: new Set(),
        valid: [],
        refused: [],
        accumulator: undefined,
        timer: undefined,
        resolve,
      };
      this.#rounds.set(key, live);
      live.timer = this.#timers.setTimeout(
        () => this.#finish(key),
        Math.max(0, spec.deadline - this.#timers.now()),
      );
      if (spec.tasks.size === 0) {
        this.#finish(key);
        return;
      }
      for (const [memberId, task] of spec.tasks) {
        const list = this.#pending.get(memberId) ?? [];
        list.push(task);
        this.#pending.set(memberId, list);
        this.#wake(memberId);
      }
    });
  }

  /**
   * A lender's long poll: resolves at once with its undelivered tasks, or as soon as one is posted, or
   * with none after `waitMs` (or when `signal` aborts). Each task is delivered once.
   */
  poll(memberId: string, waitMs: number, signal?: AbortSignal): Promise<ExposureTask[]> {
    const ready = this.#take(memberId);
    if (ready.length > 0 || waitMs <= 0 || this.#closed || signal?.aborted) return Promise.resolve(ready);
    return new Promise<ExposureTask[]>((resolve) => {
      const waiter: Waiter = { resolve: () => {}, timer: undefined };
      const done = (tasks: ExposureTask[]) => {
        this.#timers.clearTimeout(waiter.timer);
        signal?.removeEventListener("abort", onAbort);
        const list = this.#waiters.get(memberId);
        const i = list?.indexOf(waiter) ?? -1;
        if (list && i >= 0) list.splice(i, 1);
        if (list?.length === 0) this.#waiters.delete(memberId);
        resolve(tasks);
      };
      const onAbort = () => done([]);
      waiter.resolve = done;
      waiter.timer = this.#timers.setTimeout(() => done([]), waitMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      const list = this.#waiters.get(memberId) ?? [];
      list.push(waiter);
      this.#waiters.set(memberId, list);
    });
  }

  /**
   * A participant's answer to a round: `count` ciphertext envelopes. Validated with @relink/he (size,
   * preset, parameters, not transparent) and added into the round's sum. Never throws for bad input.
   */
  submit(memberId: string, queryId: string, round: number, ciphertexts: readonly Uint8Array[]): SubmitResult {
    const key = roundKey(queryId, round);
    const live = this.#rounds.get(key);
    if (!live) return { status: "not_accepted", reason: "late" };
    if (!live.spec.tasks.has(memberId)) return { status: "not_accepted", reason: "not_participant" };
    if (live.answered.has(memberId)) return { status: "not_accepted", reason: "duplicate" };
    live.answered.add(memberId);
    this.#dropPending(memberId, key);
    const started = performance.now();
    const cpu = threadCpuMs();
    const result = this.#absorb(live, ciphertexts);
    live.spec.onAbsorbed?.(performance.now() - started, threadCpuMs() - cpu);
    if (result.status === "accepted") live.valid.push(memberId);
    else live.refused.push(memberId);
    if (live.answered.size === live.spec.tasks.size) this.#finish(key);
    return result;
  }

  /** Ends every live round (as failed) and every long poll; later rounds fail at once. */
  close(): void {
    this.#closed = true;
    for (const key of [...this.#rounds.keys()]) this.#finish(key);
    for (const [memberId, list] of [...this.#waiters]) {
      for (const w of [...list]) w.resolve([]);
      this.#waiters.delete(memberId);
    }
  }

  #absorb(live: LiveRound, blobs: readonly Uint8Array[]): SubmitResult {
    const { context, ciphertextCount } = live.spec;
    if (blobs.length !== ciphertextCount) {
      return { status: "refused", reason: `expected ${ciphertextCount} ciphertexts, got ${blobs.length}` };
    }
    const loaded: HeCiphertext[] = [];
    try {
      for (const [i, blob] of blobs.entries()) {
        try {
          loaded.push(context.loadCiphertext(blob));
        } catch (error) {
          const code = (error as { code?: string }).code ?? "invalid";
          return { status: "refused", reason: `ciphertext ${i}: ${code}` };
        }
      }
      if (!live.accumulator) {
        live.accumulator = loaded.splice(0);
      } else {
        for (const [i, c] of loaded.entries()) context.addInPlace(live.accumulator[i]!, c);
      }
      return { status: "accepted" };
    } catch (error) {
      // An addition that fails leaves the accumulator unusable; the refusal fails the round, which frees it.
      const code = (error as { code?: string }).code ?? "error";
      return { status: "refused", reason: `addition failed: ${code}` };
    } finally {
      for (const c of loaded) c.dispose();
    }
  }

  #finish(key: string): void {
    const live = this.#rounds.get(key);
    if (!live) return;
    this.#rounds.delete(key);
    this.#timers.clearTimeout(live.timer);
    for (const memberId of live.spec.tasks.keys()) this.#dropPending(memberId, key);
    const missing = [...live.spec.tasks.keys()].filter((m) => !live.answered.has(m));
    const complete = live.refused.length === 0 && missing.length === 0 && live.accumulator !== undefined;
    if (!complete) for (const c of live.accumulator ?? []) c.dispose();
    live.resolve({
      valid: [...live.valid],
      refused: [...live.refused],
      missing,
      ...(complete ? { sum: live.accumulator } : {}),
    });
  }

  #take(memberId: string): ExposureTask[] {
    const tasks = this.#pending.get(memberId) ?? [];
    this.#pending.delete(memberId);
    return tasks;
  }

  #dropPending(memberId: string, key: string): void {
    const list = this.#pending.get(memberId);
    if (!list) return;
    const kept = list.filter((t) => roundKey(t.queryId, t.round) !== key);
    if (kept.length > 0) this.#pending.set(memberId, kept);
    else this.#pending.delete(memberId);
  }

  #wake(memberId: string): void {
    const oldest = this.#waiters.get(memberId)?.[0];
    if (oldest) oldest.resolve(this.#take(memberId));
  }
}

/** This thread's CPU time in ms (user + system; NaN where the runtime cannot tell). */
export function threadCpuMs(): number {
  const usage = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (typeof usage !== "function") return Number.NaN;
  const u = usage();
  return (u.user + u.system) / 1000;
}
