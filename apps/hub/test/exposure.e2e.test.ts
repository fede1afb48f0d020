/**
 * Exposure through the running hub over HTTP: the tRPC procedures (registerMaskKey, registerSubjects,
 * query, poll, submit) and the binary submit route, signed exactly as members sign; hostile bodies on the
 * binary route are refused with the right status and the hub keeps serving. Lenders are small in-test
 * functions (the member node's lender side is written elsewhere); the answer is checked against a
 * plaintext oracle.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { seededBytes } from "@relink/core/testing";
import { applyMask, type HeContext, loadHe, maskKeyPair, zeroSumMask } from "@relink/he";
import {
  EXPOSURE_TASKS_PATH,
  type ExposureQueryOutput,
  type ExposureTask,
  exposureBookMessage,
  exposureSubmitPath,
  fromBase64Url,
  packCiphertexts,
  toBase64Url,
} from "@relink/protocol";
import { generateSignerKey } from "@relink/tlog";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningHub } from "../src/hub.ts";
import { exposureSubmitLimit } from "../src/routes/exposure.ts";
import {
  BACKENDS,
  hubFetch,
  onboardHubMember,
  signedTestConsent,
  startTestHub,
  suiteFor,
  trpcCall,
} from "./helpers.ts";

const T = (n: number) => sha256(new TextEncoder().encode(`hub-exposure-subject-${n}`));

interface Member {
  slug: string;
  secretKey: Uint8Array;
  id: string;
}

for (const backend of BACKENDS) {
  suiteFor(backend)(`exposure over HTTP [${backend}]`, () => {
    let hub: RunningHub;
    let closeHub: (() => Promise<void>) | undefined;
    let ctx: HeContext;
    const lines: string[] = [];
    const members: Record<string, Member> = {};
    let seed = 500;

    async function member(
      slug: string,
      capabilities: ("lender" | "querier" | "collector")[],
    ): Promise<Member> {
      const secretKey = seededBytes(seed++)(32);
      members[slug] = { slug, secretKey, id: await onboardHubMember(hub, secretKey, { slug, capabilities }) };
      return members[slug]!;
    }

    const signed = (
      m: Member,
      path: string,
      body: Uint8Array | string,
      headers: Record<string, string> = {},
    ) => hubFetch(hub, m.secretKey, "POST", path, body, headers);

    const call = <T>(m: Member, procedure: string, input: unknown): Promise<T> =>
      trpcCall<T>(hub, m.secretKey, procedure, input);

    /** Figures per lender and subject: [active, outstanding, dpd_current, …]. */
    const books: Record<string, Map<number, number[]>> = {
      "bank-a": new Map([1, 2, 3].map((n) => [n, [1, 1_234_567 + n, 1, 0, 0, 0, 0, 1, 1]])),
      "bank-b": new Map([1, 2].map((n) => [n, [1, 2_345_678 + n, 0, 1, 0, 0, 0, 0, 1]])),
      "bank-c": new Map([1, 2, 3].map((n) => [n, [1, 3_456_789 + n, 2, 0, 0, 1, 0, 0, 0]])),
      "bank-d": new Map([[3, [1, 4_567_890, 1, 0, 0, 0, 0, 0, 0]]]),
    };
    const maskKeys: Record<string, ReturnType<typeof maskKeyPair>> = {};

    async function lenderEnvelopes(slug: string, task: ExposureTask): Promise<Uint8Array[]> {
      const pk = ctx.loadPublicKey(fromBase64Url(task.publicKey));
      const values = new Array<bigint>(task.ciphertextCount * ctx.slotCount).fill(0n);
      for (const s of task.slots) {
        const n = [1, 2, 3].find((i) => toBase64Url(T(i)) === s.tag)!;
        books[slug]!.get(n)!.forEach((v, i) => {
          values[s.slotBase + i] = BigInt(v);
        });
      }
      const mask = zeroSumMask(
        maskKeys[slug]!.secretKey,
        members[slug]!.id,
        task.participants.map((p) => ({ id: p.memberId, publicKey: fromBase64Url(p.maskKey) })),
        { queryId: task.queryId, round: task.round, modulus: ctx.plainModulus, length: values.length },
      );
      const masked = applyMask(values, mask, ctx.plainModulus);
      const out: Uint8Array[] = [];
      for (let c = 0; c < task.ciphertextCount; c++) {
        const ct = ctx.encrypt(pk, masked.slice(c * ctx.slotCount, (c + 1) * ctx.slotCount));
        out.push(ctx.saveCiphertext(ct));
        ct.dispose();
      }
      pk.dispose();
      return out;
    }

    /** One lender node: long-polls once, answers its task through tRPC or the binary route. */
    async function serveOnce(slug: string, via: "trpc" | "binary"): Promise<unknown> {
      const m = members[slug]!;
      for (let i = 0; i < 20; i++) {
        const { tasks } = await call<{ tasks: ExposureTask[] }>(m, "exposure.poll", { waitMs: 2000 });
        const task = tasks[0];
        if (!task) continue;
        const envelopes = await lenderEnvelopes(slug, task);
        if (via === "trpc") {
          return call(m, "exposure.submit", {
            queryId: task.queryId,
            round: task.round,
            ciphertexts: envelopes.map(toBase64Url),
          });
        }
        const res = await signed(
          m,
          exposureSubmitPath(task.queryId, task.round),
          packCiphertexts(envelopes),
          {
            "content-type": "application/octet-stream",
          },
        );
        return res.json();
      }
      throw new Error(`${slug} got no task`);
    }

    /**
     * A lender's task stream (ADR 0035): one signed POST held open, re-opened when the hub ends it, until
     * closed. `next()` resolves with the next task pushed to this lender.
     */
    function taskStream(slug: string, waitMs = 20_000) {
      const m = members[slug]!;
      const received: ExposureTask[] = [];
      let notify: (() => void) | undefined;
      let opened = 0;
      const controller = new AbortController();
      const run = (async () => {
        while (!controller.signal.aborted) {
          const body = JSON.stringify({ waitMs });
          const res = await signed(m, EXPOSURE_TASKS_PATH, body, { "content-type": "application/json" });
          expect(res.status).toBe(200);
          expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
          if (controller.signal.aborted) {
            await res.body?.cancel();
            break;
          }
          opened++;
          const reader = res.body!.getReader();
          const stop = () => void reader.cancel().catch(() => {});
          controller.signal.addEventListener("abort", stop, { once: true });
          let text = "";
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              text += new TextDecoder().decode(value);
              for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
                received.push(...(JSON.parse(text.slice(0, nl)) as { tasks: ExposureTask[] }).tasks);
                text = text.slice(nl + 1);
                notify?.();
              }
            }
          } catch (error) {
            if (!controller.signal.aborted) throw error;
          } finally {
            controller.signal.removeEventListener("abort", stop);
          }
        }
      })();
      return {
        get opened() {
          return opened;
        },
        async next(): Promise<ExposureTask> {
          while (received.length === 0) await new Promise<void>((r) => (notify = r));
          return received.shift()!;
        },
        /** Disconnects (the hub sees the socket close) and waits for the loop to end. */
        async close(): Promise<void> {
          controller.abort();
          await run;
        },
      };
    }

    const binarySubmit = async (slug: string, task: ExposureTask, envelopes?: Uint8Array[]) => {
      const res = await signed(
        members[slug]!,
        exposureSubmitPath(task.queryId, task.round),
        packCiphertexts(envelopes ?? (await lenderEnvelopes(slug, task))),
        { "content-type": "application/octet-stream" },
      );
      return (await res.json()) as { accepted: boolean };
    };

    const startQuery = (tags: number[], keys: ReturnType<HeContext["keygen"]>) =>
      call<ExposureQueryOutput>(members["risk-q"]!, "exposure.query", {
        epoch: 1,
        purpose: "credit_assessment",
        mode: "subjects",
        tags: tags.map((n) => toBase64Url(T(n))),
        caseCommitment: toBase64Url(sha256(new TextEncoder().encode(`case-${tags.join("-")}`))),
        publicKey: toBase64Url(ctx.savePublicKey(keys.publicKey)),
      });

    /** The decrypted answer's figures of each asked subject against the plaintext sums over the books. */
    function expectFigures(out: ExposureQueryOutput, keys: ReturnType<HeContext["keygen"]>, tags: number[]) {
      const ct = ctx.loadCiphertext(fromBase64Url(out.ciphertexts[0]!));
      const slots = ctx.decrypt(keys.secretKey, ct).map(Number);
      ct.dispose();
      for (const [i, n] of tags.entries()) {
        const expected = new Array<number>(9).fill(0);
        for (const book of Object.values(books))
          book.get(n)?.forEach((v, f) => {
            expected[f]! += v;
          });
        const base = out.subjects[i]!.slotBase!;
        expect(slots.slice(base, base + 9)).toEqual(expected);
      }
    }

    /** Waits until the hub holds no waiting poll or stream of the lender (it saw the disconnection). */
    async function hubDropped(slug: string): Promise<void> {
      while (hub.exposure!.pollsWaiting(members[slug]!.id) > 0) await new Promise((r) => setImmediate(r));
    }

    beforeAll(async () => {
      ctx = (await loadHe()).context("bfv-4096-add-v1");
      const line = (level: string) => (event: string, fields?: Record<string, unknown>) => {
        lines.push(JSON.stringify({ level, event, ...fields }));
      };
      ({ hub, close: closeHub } = await startTestHub(backend, {
        log: { info: line("info"), warn: line("warn"), error: line("error") },
        signer: generateSignerKey("relink.test/hub-exposure/v1", seededBytes(9)),
        // Registrations and the query follow each other within a second here: no 24-hour seasoning.
        network: { exposure: { k: 3, subjectsDeadlineMs: 5000, minHoldingHours: 0 } },
      }));
      const q = await member("risk-q", ["querier"]);
      for (const slug of Object.keys(books)) {
        const m = await member(slug, ["lender"]);
        maskKeys[slug] = maskKeyPair();
        await call(m, "exposure.registerMaskKey", { publicKey: toBase64Url(maskKeys[slug]!.publicKey) });
        const declaredSubjects = books[slug]!.size;
        const book = exposureBookMessage(
          { networkId: "relink.test", memberId: m.id },
          { epoch: 1, declaredSubjects },
        );
        await call(m, "exposure.declareBook", {
          epoch: 1,
          declaredSubjects,
          signature: toBase64Url(ed25519.sign(book, m.secretKey)),
        });
        await call(m, "exposure.registerSubjects", {
          epoch: 1,
          tags: [...books[slug]!.keys()].map((n) => toBase64Url(T(n))),
        });
      }
      await call(q, "consent.register", {
        consents: [1, 2, 3].map((n) =>
          signedTestConsent(
            q.secretKey,
            q.id,
            { reference: `c-${n}`, tag: T(n), evidence: `e-${n}`, caseId: `case-${n}` },
            { purpose: "credit_assessment", dataCategories: ["credit_exposure"] },
          ),
        ),
      });
    });

    afterAll(async () => {
      await closeHub?.();
    });

    it("runs a query end to end: tRPC and binary submissions, exact against the oracle", async () => {
      expect(hub.server.timeout).toBe(0);
      expect(hub.server.requestTimeout).toBeGreaterThanOrEqual(60_000);
      const keys = ctx.keygen();
      const query = call<ExposureQueryOutput>(members["risk-q"]!, "exposure.query", {
        epoch: 1,
        purpose: "credit_assessment",
        mode: "subjects",
        tags: [1, 2, 3].map((n) => toBase64Url(T(n))),
        caseCommitment: toBase64Url(sha256(new TextEncoder().encode("case"))),
        publicKey: toBase64Url(ctx.savePublicKey(keys.publicKey)),
      });
      const answers = await Promise.all([
        serveOnce("bank-a", "binary"),
        serveOnce("bank-b", "trpc"),
        serveOnce("bank-c", "binary"),
        serveOnce("bank-d", "binary"),
      ]);
      expect(answers).toEqual([
        { accepted: true },
        { accepted: true },
        { accepted: true },
        { accepted: true },
      ]);
      const out = await query;
      expect(out).toMatchObject({ rounds: 1, invited: 4, responded: 4, cached: false });
      expect(out.subjects.map((s) => s.status)).toEqual(["ok", "ok", "ok"]);
      expectFigures(out, keys, [1, 2, 3]);
      // No figure in the hub's log lines.
      for (const book of Object.values(books)) {
        for (const f of book.values()) expect(lines.join("\n")).not.toContain(String(f[1]));
      }
    });

    it("the binary route refuses hostile requests with the right status and the hub keeps serving", async () => {
      const m = members["bank-a"]!;
      const path = exposureSubmitPath("6f1c1d0e-2b59-4a8e-9a39-5f3c0c6f0a11", 1);
      const type = { "content-type": "application/octet-stream" };
      // Unsigned.
      const unsigned = await fetch(`${hub.url}${path}`, {
        method: "POST",
        headers: type,
        body: new Uint8Array(8),
      });
      expect(unsigned.status).toBe(401);
      expect((await unsigned.json()).error.code).toBe("BAD_SIGNATURE");
      // Wrong content type.
      expect((await signed(m, path, new Uint8Array(8), { "content-type": "application/json" })).status).toBe(
        415,
      );
      // Over the limit (a full round of the largest accepted preset plus prefixes): refused, never read.
      const limit = exposureSubmitLimit(ctx.serializedBytes.ciphertext);
      expect(limit).toBeLessThan(21 * 1024 * 1024);
      const big = await signed(m, path, new Uint8Array(limit + 1), type);
      expect(big.status).toBe(413);
      // Garbage frames for a round that does not exist: not accepted, never a crash.
      const garbage = await signed(m, path, Uint8Array.from([0, 0, 0, 200, 1, 2, 3]), type);
      expect([200, 400]).toContain(garbage.status);
      // A bad path.
      const bad = await signed(m, `/v1/exposure/submit/not-a-uuid/0`, new Uint8Array(8), type);
      expect(bad.status).toBe(400);
      expect((await bad.json()).error.code).toBe("BAD_INPUT");
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    });
    it("pushes each task on the lender's open task stream: two queries, one signed request per lender", async () => {
      const streams = Object.fromEntries(["bank-a", "bank-b", "bank-c"].map((s) => [s, taskStream(s)]));
      try {
        for (const n of [1, 2]) {
          const keys = ctx.keygen();
          const query = startQuery([n], keys);
          const accepted = await Promise.all(
            Object.entries(streams).map(async ([slug, stream]) => binarySubmit(slug, await stream.next())),
          );
          expect(accepted).toEqual([{ accepted: true }, { accepted: true }, { accepted: true }]);
          const out = await query;
          expect(out).toMatchObject({ rounds: 1, invited: 3, responded: 3, cached: false });
          expectFigures(out, keys, [n]);
          keys.dispose();
        }
        // Both queries' tasks came over the stream each lender opened once (no re-poll between them).
        for (const stream of Object.values(streams)) expect(stream.opened).toBe(1);
      } finally {
        await Promise.all(Object.values(streams).map((s) => s.close()));
      }
    });

    it("a lender that disconnects mid-stream loses no task: it stays pending for its next stream", async () => {
      const b = taskStream("bank-b");
      const c = taskStream("bank-c");
      const dropped = taskStream("bank-a");
      // Wait until bank-a's stream is open at the hub, then cut it and wait until the hub has seen that.
      while (hub.exposure!.pollsWaiting(members["bank-a"]!.id) === 0)
        await new Promise((r) => setImmediate(r));
      await dropped.close();
      await hubDropped("bank-a");
      try {
        const keys = ctx.keygen();
        const query = startQuery([1, 2], keys);
        const [tb, tc] = await Promise.all([b.next(), c.next()]);
        // The round waits for bank-a; its task was not written to the dead connection.
        const again = taskStream("bank-a");
        const ta = await again.next();
        expect([ta.queryId, ta.round]).toEqual([tb.queryId, tb.round]);
        expect(
          await Promise.all([
            binarySubmit("bank-a", ta),
            binarySubmit("bank-b", tb),
            binarySubmit("bank-c", tc),
          ]),
        ).toEqual([{ accepted: true }, { accepted: true }, { accepted: true }]);
        const out = await query;
        expect(out).toMatchObject({ rounds: 1, responded: 3 });
        expectFigures(out, keys, [1, 2]);
        keys.dispose();
        await again.close();
      } finally {
        await Promise.all([b.close(), c.close()]);
      }
    });

    it("a slow lender misses the round's deadline: the round is re-run without it and its late answer is not accepted", async () => {
      const streams = Object.fromEntries(
        ["bank-a", "bank-b", "bank-c", "bank-d"].map((s) => [s, taskStream(s)]),
      );
      try {
        const keys = ctx.keygen();
        const query = startQuery([2, 3], keys);
        const first = Object.fromEntries(
          await Promise.all(
            Object.entries(streams).map(async ([slug, st]) => [slug, await st.next()] as const),
          ),
        );
        // bank-d computes its answer but sends nothing before the deadline; the others answer round 1.
        const slow = await lenderEnvelopes("bank-d", first["bank-d"]!);
        for (const slug of ["bank-a", "bank-b", "bank-c"])
          expect(await binarySubmit(slug, first[slug]!)).toEqual({ accepted: true });
        // Round 2 (after the hub's deadline) goes to the three on their open streams: subject 3 now has
        // two holders left (< k) and is suppressed.
        const second = await Promise.all(
          ["bank-a", "bank-b", "bank-c"].map(async (slug) => [slug, await streams[slug]!.next()] as const),
        );
        for (const [, t] of second) expect(t.round).toBe(2);
        for (const [slug, t] of second) expect(await binarySubmit(slug, t)).toEqual({ accepted: true });
        const out = await query;
        expect(out).toMatchObject({ rounds: 2, invited: 3, responded: 3 });
        expect(out.subjects.map((s) => s.status)).toEqual(["ok", "suppressed"]);
        expectFigures(out, keys, [2]);
        keys.dispose();
        // The slow lender's round-1 answer now arrives: too late, not accepted, no crash.
        expect(await binarySubmit("bank-d", first["bank-d"]!, slow)).toEqual({ accepted: false });
        expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
      } finally {
        await Promise.all(Object.values(streams).map((s) => s.close()));
      }
    });

    it("the task stream refuses unsigned requests, bad bodies and non-lenders before it opens", async () => {
      const body = JSON.stringify({ waitMs: 1000 });
      const json = { "content-type": "application/json" };
      const unsigned = await fetch(`${hub.url}${EXPOSURE_TASKS_PATH}`, {
        method: "POST",
        headers: json,
        body,
      });
      expect(unsigned.status).toBe(401);
      for (const bad of ["not json", JSON.stringify({ waitMs: 10_000_000 }), JSON.stringify({})]) {
        const res = await signed(members["bank-a"]!, EXPOSURE_TASKS_PATH, bad, json);
        expect(res.status).toBe(400);
        expect((await res.json()).error.code).toBe("BAD_INPUT");
      }
      const querier = await signed(members["risk-q"]!, EXPOSURE_TASKS_PATH, body, json);
      expect(querier.status).toBe(403);
      expect((await querier.json()).error.code).toBe("FORBIDDEN");
      // A stream with waitMs 0 opens and ends at once, empty.
      const empty = await signed(
        members["bank-a"]!,
        EXPOSURE_TASKS_PATH,
        JSON.stringify({ waitMs: 0 }),
        json,
      );
      expect(empty.status).toBe(200);
      expect(await empty.text()).toBe("");
    });
  });
}
