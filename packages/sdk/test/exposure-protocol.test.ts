/**
 * Lender answering + a plain in-test hub sum + querier decoding, against a plaintext oracle; refusals of
 * hostile keys and tasks; the masks' privacy (a single answer is uniform) and cancellation (only all of them).
 */
import { randomBytes } from "node:crypto";
import { type He, loadHe, maskKeyPair, zeroSumMask } from "@relink/he";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_FEATURES,
  type ExposureFeature,
  type ExposureMode,
  type ExposureQueryInput,
  type ExposureQueryOutput,
  type ExposureTask,
  toBase64Url,
} from "@relink/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import {
  answerExposureTask,
  combinedMask,
  decodeExposureAnswer,
  ExposureError,
  ExposureTaskRefused,
  heKeyPool,
  memoryHeKeyStore,
  publicKeyHash,
  requestExposure,
} from "../src/exposure.ts";
import {
  chiSquared,
  hubRun,
  makeLender,
  memberIds,
  oracleSums,
  PRESET,
  randomRecords,
  rng,
  subjectOf,
  type TestLender,
  tagOf,
} from "./exposure-fixtures.ts";

let he: He;
beforeAll(async () => {
  he = await loadHe();
});

const who = { memberId: "ffffffff-0000-4000-8000-000000000000", epoch: 1 };

function lendersFor(seed: number, count: number, pool: number, p: number): TestLender[] {
  const r = rng(seed);
  return memberIds(count).map((id, i) => makeLender(id, randomRecords(r, pool, p, `L${i}`)));
}

/** Asks through requestExposure with the in-test hub in place of the hub's query procedure. */
async function ask(
  lenders: TestLender[],
  tags: string[],
  mode: ExposureMode,
  options: Parameters<typeof hubRun>[3] = {},
) {
  let run: ReturnType<typeof hubRun> | undefined;
  const client = {
    query: async (input: ExposureQueryInput) => {
      run = hubRun(he, lenders, input, options);
      return run.output;
    },
  };
  const decoded = await requestExposure(client, who, tags, {
    purpose: "credit_assessment",
    mode,
    keyStore: memoryHeKeyStore(),
    caseId: "case-1",
    he,
  });
  return { decoded, run: run! };
}

describe("exposure: lenders, hub sum and querier against a plaintext oracle", () => {
  it("subjects mode: every answered subject's 9 sums equal the oracle; others suppressed", async () => {
    for (const [seed, lenderCount, pool, p] of [
      [1, 5, 40, 0.6],
      [2, 4, 600, 0.8], // ≈ 490 answered subjects: two ciphertexts per lender
      [3, 7, 60, 0.35],
    ] as const) {
      const lenders = lendersFor(seed, lenderCount, pool, p);
      const tags = Array.from({ length: pool }, (_, s) => tagOf(subjectOf(s)));
      const { decoded, run } = await ask(lenders, tags, "subjects");
      const oracle = oracleSums(run.responders, run.answered);
      expect(decoded.decrypted).toBe(true);
      expect(decoded.responded).toBe(run.responders.length);
      let ok = 0;
      for (const r of decoded.tags) {
        if (run.answered.includes(r.tag)) {
          ok++;
          expect(r.status).toBe("ok");
          expect(r.features).toEqual(oracle.get(r.tag));
        } else {
          expect(r.status).toBe("suppressed");
          expect(r.features).toBeUndefined();
        }
      }
      expect(ok).toBe(run.answered.length);
      if (seed === 2) expect(run.output.ciphertexts.length).toBe(2);
    }
  });

  it("aggregate mode: totals equal the oracle plus the hub's signed noise, limbs recombined exactly", async () => {
    for (const seed of [11, 12]) {
      const lenders = lendersFor(seed, 6, 300, 0.7);
      const tags = Array.from({ length: 300 }, (_, s) => tagOf(subjectOf(s)));
      // Negative noise on several slots, one large enough to make a total negative.
      const noise = AGGREGATE_SLOTS.map((_, i) => (i % 2 === 0 ? -(1000 + i) : 7 * i));
      noise[0] = -100_000;
      const { decoded, run } = await ask(lenders, tags, "aggregate", { noise });
      const perTag = oracleSums(run.responders, run.answered);
      const expected = Object.fromEntries(EXPOSURE_FEATURES.map((f) => [f, 0])) as Record<
        ExposureFeature,
        number
      >;
      for (const s of perTag.values()) for (const f of EXPOSURE_FEATURES) expected[f] += s[f];
      const slotNoise = Object.fromEntries(AGGREGATE_SLOTS.map((s, i) => [s, noise[i]!]));
      for (const f of EXPOSURE_FEATURES) {
        expected[f] +=
          f === "outstanding"
            ? slotNoise["outstanding_lo"]! +
              slotNoise["outstanding_mid"]! * 2 ** 20 +
              slotNoise["outstanding_hi"]! * 2 ** 40
            : slotNoise[f]!;
      }
      expect(decoded.aggregate?.totals).toEqual(expected);
      expect(decoded.aggregate?.totals?.active_lenders).toBeLessThan(0);
      expect(decoded.aggregate?.answered).toBe(run.answered.length);
      // the lenders' lo limbs sum past 2^20: recombination carries across limbs
      const loSum = run.responders.reduce((sum, l) => {
        const own = oracleSums([l], run.answered);
        const total = [...own.values()].reduce((n, f) => n + f.outstanding, 0);
        return sum + (total % 2 ** 20);
      }, 0);
      expect(loSum).toBeGreaterThan(2 ** 20);
    }
  });

  it("a subject held by fewer than k lenders gets no slot and no figures", async () => {
    const [a, b, c] = memberIds(3);
    const common = [0, 1].map((s) => ({
      id_number: subjectOf(s).slice(6),
      status: "active",
      outstanding: "100",
      days_past_due: "0",
      opened_on: "2026-01-01",
    }));
    const only = { ...common[0]!, id_number: subjectOf(9).slice(6) };
    const lenders = [a!, b!, c!].map((id, i) =>
      makeLender(id, [
        ...common.map((r, j) => ({ ...r, loan_id: `${i}-${j}` })),
        ...(i === 0 ? [{ ...only, loan_id: "x" }] : []),
      ]),
    );
    const tags = [0, 1, 9].map((s) => tagOf(subjectOf(s)));
    const { decoded } = await ask(lenders, tags, "subjects");
    expect(decoded.tags.map((t) => t.status)).toEqual(["ok", "ok", "suppressed"]);
    expect(decoded.tags[0]?.features?.outstanding).toBe(300);
    expect(decoded.tags[0]?.features?.active_lenders).toBe(3);
  });
});

describe("exposure: what a lender refuses", () => {
  const lenders = () => lendersFor(21, 3, 10, 1);
  function taskFor(l: TestLender, all: TestLender[], publicKey: string, over: Partial<ExposureTask> = {}) {
    const tags = [...l.lender.tags.keys()];
    const task: ExposureTask = {
      queryId: crypto.randomUUID(),
      round: 1,
      mode: "subjects",
      presetId: PRESET,
      publicKey,
      ciphertextCount: 1,
      slots: tags.map((tag, i) => ({ tag, slotBase: 9 * i })),
      participants: [...all]
        .sort((x, y) => (x.memberId < y.memberId ? -1 : 1))
        .map((x) => ({ memberId: x.memberId, maskKey: toBase64Url(x.mask.publicKey) })),
      asOf: "2026-11-26",
      deadline: Date.now() + 60_000,
      ...over,
    };
    return task;
  }
  const reason = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      if (error instanceof ExposureTaskRefused) return `${error.reason}: ${error.message}`;
      throw error;
    }
    return "answered";
  };

  it("refuses a zero, malformed, truncated or other-preset querier key", () => {
    const all = lenders();
    const l = all[0]!;
    const ctx = he.context(PRESET);
    using pair = ctx.keygen();
    const good = ctx.savePublicKey(pair.publicKey);
    expect(
      reason(() => answerExposureTask(taskFor(l, all, toBase64Url(good)), l.lender, l.mask.secretKey, he)),
    ).toBe("answered");
    // the first polynomial (N × 2 key limbs, u64) of the seeded key, zeroed
    const zero = Uint8Array.from(good);
    const dataAt = 7 + PRESET.length + 113;
    zero.fill(0, dataAt, dataAt + 8 * 2 * ctx.slotCount);
    // the envelope and SEAL headers kept, the rest random
    const junk = Uint8Array.from(good);
    junk.set(randomBytes(good.length - 40), 40);
    const other = he.context("bfv-8192-mul-v1");
    using otherPair = other.keygen();
    const cases: [string, string][] = [
      [toBase64Url(zero), "zero-key"],
      [toBase64Url(good.subarray(0, good.length - 100)), ""],
      [toBase64Url(junk), ""],
      [toBase64Url(randomBytes(good.length)), "malformed"],
      ["not*base64url*at*all", ""],
      [toBase64Url(other.savePublicKey(otherPair.publicKey)), "oversize"],
    ];
    for (const [pk, code] of cases) {
      const r = reason(() => answerExposureTask(taskFor(l, all, pk), l.lender, l.mask.secretKey, he));
      expect(r).toMatch(/^bad-key: /);
      expect(r).toContain(code);
    }
    // a task naming the other preset with this preset's key
    const mixed = taskFor(l, all, toBase64Url(good), { presetId: "bfv-8192-mul-v1" });
    expect(reason(() => answerExposureTask(mixed, l.lender, l.mask.secretKey, he))).toMatch(
      /^bad-key: .*preset-mismatch/,
    );
  });

  it("refuses late, foreign, under-populated and ill-formed rounds", () => {
    const all = lenders();
    const [l, m] = [all[0]!, all[1]!];
    const ctx = he.context(PRESET);
    using pair = ctx.keygen();
    const pk = toBase64Url(ctx.savePublicKey(pair.publicKey));
    const base = taskFor(l, all, pk);
    const answer = (t: ExposureTask, min?: number) =>
      reason(() =>
        answerExposureTask(
          t,
          l.lender,
          l.mask.secretKey,
          he,
          min === undefined ? {} : { minParticipants: min },
        ),
      );
    const other = maskKeyPair();
    const cases: [ExposureTask, string][] = [
      [{ ...base, deadline: Date.now() - 1_001 }, "expired"],
      [{ ...base, presetId: "bfv-1024-v0" }, "bad-preset"],
      [
        { ...base, participants: base.participants.filter((p) => p.memberId !== l.memberId) },
        "bad-participants",
      ],
      [
        {
          ...base,
          participants: base.participants.map((p) =>
            p.memberId === l.memberId ? { ...p, maskKey: toBase64Url(other.publicKey) } : p,
          ),
        },
        "bad-participants",
      ],
      [{ ...base, participants: [...base.participants].reverse() }, "bad-participants"],
      [
        {
          ...base,
          participants: base.participants.map((p) =>
            p.memberId === m.memberId ? { ...p, maskKey: toBase64Url(new Uint8Array(32)) } : p,
          ),
        },
        "bad-participants", // a low-order point: the pair's mask would be public
      ],
      [{ ...base, slots: base.slots.map((s) => ({ ...s, slotBase: s.slotBase / 2 })) }, "bad-slots"],
      [{ ...base, slots: [...base.slots, base.slots[0]!] }, "bad-slots"],
      [{ ...base, slots: [{ tag: base.slots[0]!.tag, slotBase: 4090 }] }, "bad-slots"],
      [
        {
          ...base,
          mode: "aggregate",
          slots: base.slots.map((s) => ({ ...s, slotBase: 0 })),
          ciphertextCount: 2,
        },
        "bad-slots",
      ],
      [{ ...base, ciphertextCount: 10_000 }, "bad-slots"],
    ];
    for (const [task, why] of cases) expect(answer(task)).toMatch(new RegExp(`^${why}: `));
    expect(answer(base, 4)).toMatch(/^too-few-participants: /);
    expect(answer(base)).toBe("answered");
  });
});

describe("exposure: the masks", () => {
  it("a single lender's answer decrypts to uniform noise (chi-squared); unmasked figures would not", async () => {
    const lenders = lendersFor(31, 3, 200, 1);
    const ctx = he.context(PRESET);
    using pair = ctx.keygen();
    const publicKey = toBase64Url(ctx.savePublicKey(pair.publicKey));
    const tags = Array.from({ length: 200 }, (_, s) => tagOf(subjectOf(s)));
    const run = hubRun(he, lenders, { tags, mode: "subjects", publicKey });
    // Two ciphertexts (200 × 9 < 4096, so force a larger round through the task directly).
    const l = lenders[0]!;
    const task = { ...run.tasks.get(l.memberId)!, ciphertextCount: 2 };
    const single = answerExposureTask(task, l.lender, l.mask.secretKey, he).ciphertexts;
    const values = single.flatMap((c) => {
      using ct = ctx.loadCiphertext(c);
      return ctx.decrypt(pair.secretKey, ct);
    });
    expect(values.length).toBe(8192);
    // χ² with 63 degrees of freedom: P(χ² > 114) ≈ 1e-4 for uniform values.
    expect(chiSquared(values, ctx.plainModulus)).toBeLessThan(114);
    // Control: the same lender alone in a round (no mask) shows its figures — the test has power.
    const alone = {
      ...task,
      participants: task.participants.filter((p) => p.memberId === l.memberId),
    };
    const bare = answerExposureTask(alone, l.lender, l.mask.secretKey, he, {
      minParticipants: 1,
    }).ciphertexts;
    const bareValues = bare.flatMap((c) => {
      using ct = ctx.loadCiphertext(c);
      return ctx.decrypt(pair.secretKey, ct);
    });
    expect(chiSquared(bareValues, ctx.plainModulus)).toBeGreaterThan(10_000);
  });

  it("the masks cancel only when every participant's answer is in the sum", async () => {
    const lenders = lendersFor(41, 4, 30, 1);
    const tags = Array.from({ length: 30 }, (_, s) => tagOf(subjectOf(s)));
    const full = await ask(lenders, tags, "subjects");
    expect(full.decoded.tags.every((t) => t.status === "ok" && t.features)).toBe(true);
    // The hub (or hub and querier together) summing all but one answer gets noise, and the querier says so.
    await expect(ask(lenders, tags, "subjects", { sumOf: (r) => r.slice(1) })).rejects.toMatchObject({
      name: "ExposureError",
      code: "garbled",
    });
    await expect(ask(lenders, tags, "subjects", { sumOf: (r) => r.slice(0, 1) })).rejects.toBeInstanceOf(
      ExposureError,
    );
  });

  it("a result whose noise budget is exhausted is refused as garbled (subjects mode skips SEAL's noise check)", async () => {
    const lenders = lendersFor(43, 4, 30, 1);
    const tags = Array.from({ length: 30 }, (_, s) => tagOf(subjectOf(s)));
    await expect(ask(lenders, tags, "subjects", { exhaustNoise: true })).rejects.toMatchObject({
      name: "ExposureError",
      code: "garbled",
    });
  });

  it("combinedMask is @relink/he's zeroSumMask", () => {
    const keys = memberIds(4).map((id) => ({ id, ...maskKeyPair() }));
    const task = {
      queryId: crypto.randomUUID(),
      round: 2,
      participants: keys.map((k) => ({ memberId: k.id, maskKey: toBase64Url(k.publicKey) })),
    };
    const t = he.context(PRESET).plainModulus;
    for (const k of keys) {
      const ours = combinedMask(task, k.id, k.secretKey, t, 5000);
      const ref = zeroSumMask(
        k.secretKey,
        k.id,
        keys.map((x) => ({ id: x.id, publicKey: x.publicKey })),
        { queryId: task.queryId, round: 2, modulus: t, length: 5000 },
      );
      expect(Array.from(ours, BigInt)).toEqual(Array.from(ref));
    }
  });
});

describe("exposure: the querier's keys", () => {
  it("decrypts a cached answer with the earlier key while it is kept, and says so when it is not", async () => {
    const lenders = lendersFor(51, 3, 12, 1);
    const tags = Array.from({ length: 12 }, (_, s) => tagOf(subjectOf(s)));
    const store = memoryHeKeyStore();
    let first: ExposureQueryOutput | undefined;
    const client = {
      query: async (input: ExposureQueryInput) => {
        if (first) return { ...first, cached: true };
        first = hubRun(he, lenders, input).output;
        return first;
      },
    };
    let clock = Date.parse("2026-11-26T08:00:00Z");
    const opts = {
      purpose: "credit_assessment" as const,
      mode: "subjects" as const,
      keyStore: store,
      caseId: "c",
      he,
      now: () => clock,
    };
    const a = await requestExposure(client, who, tags, opts);
    const b = await requestExposure(client, who, tags, opts);
    expect(b.cached).toBe(true);
    expect(b.decrypted).toBe(true);
    expect(b.tags).toEqual(a.tags);
    clock += 25 * 3_600_000; // the key has expired; the hub (wrongly, or with a skewed clock) still serves the cache
    const c = await requestExposure(client, who, tags, opts);
    expect(c.decrypted).toBe(false);
    expect(c.undecryptable).toMatch(/no longer holds/);
    expect(c.tags.every((t) => t.status === "ok" && t.features === undefined)).toBe(true);
  });

  it("refuses an uncached answer under a key it did not send", async () => {
    const lenders = lendersFor(61, 3, 5, 1);
    const tags = Array.from({ length: 5 }, (_, s) => tagOf(subjectOf(s)));
    const client = {
      query: async (input: ExposureQueryInput) => {
        const out = hubRun(he, lenders, input).output;
        return { ...out, publicKeyHash: publicKeyHash(new Uint8Array([1])) };
      },
    };
    await expect(
      requestExposure(client, who, tags, {
        purpose: "credit_assessment",
        mode: "subjects",
        keyStore: memoryHeKeyStore(),
        caseId: "c",
        he,
      }),
    ).rejects.toMatchObject({ code: "bad-response" });
  });

  it("decodes an answer with no answered subject without any key", () => {
    const out: ExposureQueryOutput = {
      queryId: crypto.randomUUID(),
      mode: "subjects",
      invited: 0,
      responded: 0,
      rounds: 1,
      cached: false,
      publicKeyHash: publicKeyHash(new Uint8Array([1])),
      subjects: [
        { tag: tagOf(subjectOf(1)), status: "no_consent" },
        { tag: tagOf(subjectOf(2)), status: "budget_exhausted" },
      ],
      ciphertexts: [],
      receipt: null,
    };
    const d = decodeExposureAnswer(he, out, undefined);
    expect(d.decrypted).toBe(true);
    expect(d.tags.map((t) => t.status)).toEqual(["no_consent", "budget_exhausted"]);
    expect(() =>
      decodeExposureAnswer(
        he,
        { ...out, subjects: [{ tag: out.subjects[0]!.tag, status: "ok", slotBase: 0 }] },
        undefined,
      ),
    ).toThrow(/no ciphertexts/);
  });

  it("a key pool hands each pair out once, refills in deferred steps up to its size, and stops when closed", () => {
    const steps: (() => void)[] = [];
    const pool = heKeyPool(he, { presetId: PRESET, size: 2, defer: (step) => steps.push(step) });
    expect(pool.ready).toBe(0);
    expect(steps).toHaveLength(1); // one pair per step, not the whole pool at once
    steps.shift()!();
    steps.shift()!();
    expect(pool.ready).toBe(2);
    expect(steps).toHaveLength(0);
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const pair = pool.take();
      const h = publicKeyHash(pair.publicKey);
      expect(seen.has(h)).toBe(false);
      seen.add(h);
      // The public and the secret key belong together: an encryption under one decrypts with the other.
      const ctx = he.context(PRESET);
      const pk = ctx.loadPublicKey(pair.publicKey);
      const sk = ctx.loadSecretKey(pair.secretKey);
      const c = ctx.encrypt(pk, [i + 1, 7]);
      expect(ctx.decrypt(sk, c).slice(0, 2)).toEqual([BigInt(i + 1), 7n]);
      for (const x of [c, sk, pk]) x.dispose();
      while (steps.length > 0) steps.shift()!();
    }
    expect(pool.ready).toBe(2);
    const held = [pool.take()];
    pool.close();
    expect(pool.ready).toBe(0);
    expect(() => pool.take()).toThrow(/closed/);
    for (const step of steps) step(); // a step scheduled before close adds nothing
    expect(pool.ready).toBe(0);
    expect(held[0]!.secretKey.some((b) => b !== 0)).toBe(true); // a pair already taken is the caller's
    expect(() => heKeyPool(he, { size: 0 })).toThrow(RangeError);
    expect(() => heKeyPool(he, { size: 17 })).toThrow(RangeError);
  });

  it("a query spends the pool's pair (never the same one twice) and refuses a pool of another preset", async () => {
    const lenders = lendersFor(71, 3, 6, 1);
    const tags = Array.from({ length: 6 }, (_, s) => tagOf(subjectOf(s)));
    const sent: string[] = [];
    const client = {
      query: async (input: ExposureQueryInput) => {
        sent.push(input.publicKey);
        return hubRun(he, lenders, input).output;
      },
    };
    const steps: (() => void)[] = [];
    const pool = heKeyPool(he, { presetId: PRESET, size: 1, defer: (step) => steps.push(step) });
    steps.shift()!();
    const opts = {
      purpose: "credit_assessment" as const,
      mode: "subjects" as const,
      keyStore: memoryHeKeyStore(),
      caseId: "c",
      he,
      keyPool: pool,
    };
    const a = await requestExposure(client, who, tags, opts);
    expect(pool.ready).toBe(0); // taken, refill deferred
    steps.shift()!();
    const b = await requestExposure(client, who, tags, opts);
    expect(a.decrypted && b.decrypted).toBe(true);
    expect(b.tags).toEqual(a.tags);
    expect(sent).toHaveLength(2);
    expect(sent[0]).not.toBe(sent[1]);
    const other = { ...pool, presetId: "bfv-8192-add-v1" } as unknown as typeof pool;
    await expect(requestExposure(client, who, tags, { ...opts, keyPool: other })).rejects.toThrow(
      /keyPool: preset/,
    );
    pool.close();
  });
});
