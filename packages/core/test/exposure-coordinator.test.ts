/**
 * The round coordinator with injected timers (no database): long polls, deliver-once tasks, deadlines,
 * hostile submissions refused without throwing, the sum handed over only when every participant answered
 * validly; and the exact discrete Laplace sampler against its distribution.
 */
import { type HeContext, type HeKeyPair, loadHe } from "@relink/he";
import type { ExposureTask } from "@relink/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import type { AuthenticatedMember } from "../src/auth.ts";
import type { CoreDeps } from "../src/context.ts";
import {
  type CoordinatorTimers,
  ExposureCoordinator,
  type SubmitResult,
} from "../src/exposure/coordinator.ts";
import { bernoulliExp, discreteLaplace, uniformBelow } from "../src/exposure/noise.ts";
import { streamExposureTasks } from "../src/exposure/query.ts";
import { seededRandom } from "./exposure-fixtures.ts";

/** Timers that fire only when the test advances them. */
function manualTimers(): CoordinatorTimers & { advance(ms: number): void; pending(): number } {
  let now = 1_800_000_000_000;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => {
      timers.delete(h as number);
    },
    advance(ms) {
      now += ms;
      for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now && timers.has(id)) {
          timers.delete(id);
          t.fn();
        }
      }
    },
    pending: () => timers.size,
  };
}

const QUERY = "6f1c1d0e-2b59-4a8e-9a39-5f3c0c6f0a11";

function task(_memberId: string, round = 1): ExposureTask {
  return {
    queryId: QUERY,
    round,
    mode: "subjects",
    presetId: "bfv-4096-add-v1",
    publicKey: "x".repeat(16),
    ciphertextCount: 1,
    slots: [],
    participants: [],
    asOf: "2026-11-26",
    deadline: 0,
  };
}

describe("exposure round coordinator", () => {
  let ctx: HeContext;
  let keys: HeKeyPair;
  beforeAll(async () => {
    ctx = (await loadHe()).context("bfv-4096-add-v1");
    keys = ctx.keygen();
  });
  const ct = (values: number[]) => ctx.saveCiphertext(ctx.encrypt(keys.publicKey, values));

  it("wakes a long poll when a task is posted, delivers each task once, times out empty", async () => {
    const timers = manualTimers();
    const c = new ExposureCoordinator({ timers });
    const polled = c.poll("a", 25_000);
    const outcome = c.runRound({
      queryId: QUERY,
      round: 1,
      context: ctx,
      ciphertextCount: 1,
      deadline: timers.now() + 5000,
      tasks: new Map([
        ["a", task("a")],
        ["b", task("b")],
      ]),
    });
    expect((await polled).map((t) => t.queryId)).toEqual([QUERY]);
    expect(await c.poll("a", 0)).toEqual([]); // delivered once
    const idle = c.poll("c", 1000);
    timers.advance(1000);
    expect(await idle).toEqual([]);
    // b polls later and still finds its task.
    expect(await c.poll("b", 10)).toHaveLength(1);
    expect(c.submit("a", QUERY, 1, [ct([1, 2, 3])])).toEqual({ status: "accepted" });
    expect(c.submit("a", QUERY, 1, [ct([1, 2, 3])])).toEqual({
      status: "not_accepted",
      reason: "duplicate",
    });
    expect(c.submit("z", QUERY, 1, [ct([1])])).toEqual({ status: "not_accepted", reason: "not_participant" });
    timers.advance(5000);
    const o = await outcome;
    expect(o).toEqual({ valid: ["a"], refused: [], missing: ["b"] });
    expect(c.submit("b", QUERY, 1, [ct([1])])).toEqual({ status: "not_accepted", reason: "late" });
    expect(c.liveRounds).toBe(0);
    expect(timers.pending()).toBe(0);
  });

  it("refuses hostile submissions without throwing and fails the round; sums a complete round", async () => {
    const timers = manualTimers();
    const c = new ExposureCoordinator({ timers });
    const tasks = new Map(["a", "b", "c"].map((m) => [m, task(m)]));
    const failing = c.runRound({
      queryId: QUERY,
      round: 1,
      context: ctx,
      ciphertextCount: 1,
      deadline: timers.now() + 5000,
      tasks,
    });
    const good = ct([5, 6]);
    const truncated = good.subarray(0, good.length - 1);
    expect(c.submit("a", QUERY, 1, [good]).status).toBe("accepted");
    const r1 = c.submit("b", QUERY, 1, [truncated]);
    expect(r1.status).toBe("refused");
    const r2 = c.submit("c", QUERY, 1, [good, good]);
    expect(r2).toEqual({ status: "refused", reason: "expected 1 ciphertexts, got 2" });
    // Everyone answered: the round ends at once, without its deadline.
    expect(await failing).toEqual({ valid: ["a"], refused: ["b", "c"], missing: [] });

    // Mutated bytes (one bit each, all over the envelope) from 60 participants: never a throw.
    const fuzzers = Array.from({ length: 60 }, (_, i) => `f${i}`);
    const fuzz = c.runRound({
      queryId: QUERY,
      round: 2,
      context: ctx,
      ciphertextCount: 1,
      deadline: timers.now() + 5000,
      tasks: new Map(fuzzers.map((m) => [m, task(m, 2)])),
    });
    const statuses = new Set<string>();
    for (const [i, m] of fuzzers.entries()) {
      const bad = Uint8Array.from(good);
      const at = i < 20 ? i : Math.floor(((i - 20) / 40) * bad.length);
      bad[at]! ^= 1 << (i % 8);
      let r: SubmitResult | undefined;
      expect(() => {
        r = c.submit(m, QUERY, 2, [i === 59 ? new Uint8Array(10_000_000) : bad]);
      }).not.toThrow();
      statuses.add(r!.status);
    }
    expect(statuses.has("refused")).toBe(true);
    const fuzzed = await fuzz;
    expect(fuzzed.refused.length).toBeGreaterThan(20);
    expect(fuzzed.sum).toBeUndefined();

    const complete = c.runRound({
      queryId: QUERY,
      round: 3,
      context: ctx,
      ciphertextCount: 1,
      deadline: timers.now() + 5000,
      tasks: new Map([
        ["a", task("a", 3)],
        ["b", task("b", 3)],
      ]),
    });
    c.submit("a", QUERY, 3, [ct([1, 2])]);
    c.submit("b", QUERY, 3, [ct([10, 20])]);
    const o = await complete;
    expect(o.sum).toHaveLength(1);
    expect(ctx.decrypt(keys.secretKey, o.sum![0]!, { length: 3 })).toEqual([11n, 22n, 0n]);
    o.sum![0]!.dispose();
  });

  it("close() ends live rounds and polls", async () => {
    const timers = manualTimers();
    const c = new ExposureCoordinator({ timers });
    const poll = c.poll("q", 25_000);
    const round = c.runRound({
      queryId: QUERY,
      round: 1,
      context: ctx,
      ciphertextCount: 1,
      deadline: timers.now() + 5000,
      tasks: new Map([["a", task("a")]]),
    });
    c.close();
    expect(await poll).toEqual([]);
    expect(await round).toEqual({ valid: [], refused: [], missing: ["a"] });
  });

  it("an aborted long poll resolves empty and leaves the task for the next poll", async () => {
    const timers = manualTimers();
    const c = new ExposureCoordinator({ timers });
    const abort = new AbortController();
    const poll = c.poll("a", 25_000, abort.signal);
    abort.abort();
    expect(await poll).toEqual([]);
    void c.runRound({
      queryId: QUERY,
      round: 1,
      context: ctx,
      ciphertextCount: 1,
      deadline: timers.now() + 5000,
      tasks: new Map([["a", task("a")]]),
    });
    expect(await c.poll("a", 0)).toHaveLength(1);
    c.close();
  });
});

describe("the task stream over the coordinator", () => {
  // Only what streamExposureTasks reads: the coordinator and an active lender (the refusals of others, which
  // write denial leaves, are in apps/hub/test/exposure.e2e.test.ts).
  const lender = {
    member: { id: "a", slug: "bank-a", status: "active", capabilities: ["lender"] },
  } as unknown as AuthenticatedMember;
  const settle = () => new Promise((r) => setImmediate(r));
  let ctx: HeContext;
  beforeAll(async () => {
    ctx = (await loadHe()).context("bfv-4096-add-v1");
  });

  it("opens once, pushes each batch as it is posted on one stream, ends after waitMs or on close", async () => {
    const timers = manualTimers();
    const c = new ExposureCoordinator({ timers });
    const deps = { exposure: { coordinator: c } } as unknown as CoreDeps;
    const events: string[] = [];
    const gone = new AbortController();
    const stream = streamExposureTasks(
      deps,
      lender,
      { waitMs: 20_000 },
      {
        open: () => events.push("open"),
        send: (tasks) => events.push(`tasks:${tasks.map((t) => t.round).join(",")}`),
        signal: gone.signal,
      },
    );
    await settle();
    expect(events).toEqual(["open"]);
    expect(c.pollsWaiting("a")).toBe(1);
    for (const round of [1, 2]) {
      void c.runRound({
        queryId: QUERY,
        round,
        context: ctx,
        ciphertextCount: 1,
        deadline: timers.now() + 5000,
        tasks: new Map([["a", task("a", round)]]),
      });
      await settle();
    }
    // Both rounds' tasks on the same stream, each the moment it was posted; the stream waits again.
    expect(events).toEqual(["open", "tasks:1", "tasks:2"]);
    expect(c.pollsWaiting("a")).toBe(1);
    timers.advance(20_000);
    await stream;
    expect(c.pollsWaiting("a")).toBe(0);

    // A stream ends when the hub closes, and a closed hub's stream ends at once.
    const second = streamExposureTasks(
      deps,
      lender,
      { waitMs: 20_000 },
      {
        open: () => {},
        send: () => {},
        signal: gone.signal,
      },
    );
    await settle();
    c.close();
    await second;
    await streamExposureTasks(
      deps,
      lender,
      { waitMs: 20_000 },
      { open: () => {}, send: () => {}, signal: gone.signal },
    );
  });

  it("a disconnection ends the stream and leaves a later task pending for the next one", async () => {
    const timers = manualTimers();
    const c = new ExposureCoordinator({ timers });
    const deps = { exposure: { coordinator: c } } as unknown as CoreDeps;
    const gone = new AbortController();
    const sent: ExposureTask[] = [];
    const stream = streamExposureTasks(
      deps,
      lender,
      { waitMs: 20_000 },
      {
        open: () => {},
        send: (tasks) => sent.push(...tasks),
        signal: gone.signal,
      },
    );
    await settle();
    gone.abort();
    await stream;
    expect(c.pollsWaiting("a")).toBe(0);
    void c.runRound({
      queryId: QUERY,
      round: 1,
      context: ctx,
      ciphertextCount: 1,
      deadline: timers.now() + 5000,
      tasks: new Map([["a", task("a")]]),
    });
    expect(sent).toEqual([]);
    expect(await c.poll("a", 0)).toHaveLength(1);

    c.close();
  });
});

describe("exact discrete Laplace sampler", () => {
  it("draws uniform integers and Bernoulli(exp(-γ)) with the right frequencies", () => {
    const rng = seededRandom("uniform");
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[Number(uniformBelow(rng, 7n))]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    let ones = 0;
    for (let i = 0; i < 20_000; i++) if (bernoulliExp(rng, 3n, 2n)) ones++;
    expect(Math.abs(ones / 20_000 - Math.exp(-1.5))).toBeLessThan(0.015);
  });

  it("has mean 0 and the variance 2α/(1−α)² of the two-sided geometric distribution", () => {
    const rng = seededRandom("laplace");
    for (const scale of [1, 9, 900]) {
      const n = 20_000;
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        const x = discreteLaplace(rng, scale);
        sum += x;
        sq += x * x;
      }
      const a = Math.exp(-1 / scale);
      const variance = (2 * a) / (1 - a) ** 2;
      expect(Math.abs(sum / n)).toBeLessThan(5 * Math.sqrt(variance / n));
      expect(Math.abs(sq / n / variance - 1)).toBeLessThan(0.08);
    }
  });

  it("matches P(0) = (1−α)/(1+α)", () => {
    const rng = seededRandom("zero");
    const scale = 3;
    let zeros = 0;
    for (let i = 0; i < 30_000; i++) if (discreteLaplace(rng, scale) === 0) zeros++;
    const a = Math.exp(-1 / scale);
    expect(Math.abs(zeros / 30_000 - (1 - a) / (1 + a))).toBeLessThan(0.012);
  });
});
