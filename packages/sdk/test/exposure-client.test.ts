/**
 * The exposure client's wire encoding against a tiny local node:http server that speaks the tRPC v11 HTTP
 * shape (and the binary submit route), and the lender's serve loop over it. The server only decodes what
 * the client sent and answers in that shape; it checks each request's signature over method, path+query
 * and body.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { loadHe } from "@relink/he";
import {
  EXPOSURE_FEATURES,
  type ExposureTask,
  fromBase64Url,
  hubAudience,
  packCiphertexts,
  requestSigningMessage,
  SIGNATURE_HEADERS,
  toBase64Url,
  unpackCiphertexts,
} from "@relink/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerExposureTask, type ExposureServeLog, serveExposure } from "../src/exposure.ts";
import { createExposureClient, ExposureClientError } from "../src/exposure-client.ts";
import { ed25519Signer } from "../src/signing.ts";
import {
  AS_OF,
  makeLender,
  memberIds,
  oracleSums,
  PRESET,
  randomRecords,
  rng,
  subjectOf,
  tagOf,
} from "./exposure-fixtures.ts";

interface Seen {
  method: string;
  path: string;
  body: Uint8Array;
  input: unknown;
  signed: boolean;
}
type Reply = { status: number; json?: unknown };
type Handler = (seen: Seen) => Reply | Promise<Reply>;

const secret = ed25519.utils.randomSecretKey();
const signer = ed25519Signer(secret);
const publicKey = ed25519.getPublicKey(secret);
const handlers = new Map<string, Handler>();
const seen: Seen[] = [];
let server: Server;
let url: string;

async function read(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

function verify(req: IncomingMessage, pathAndQuery: string, body: Uint8Array): boolean {
  const h = (n: string) => String(req.headers[n] ?? "");
  try {
    const message = requestSigningMessage({
      audience: hubAudience("relink.test"),
      method: req.method ?? "",
      path: pathAndQuery,
      bodySha256: sha256(body),
      timestampMs: Number(h(SIGNATURE_HEADERS.timestamp)),
      nonce: fromBase64Url(h(SIGNATURE_HEADERS.nonce)),
      keyFingerprint: fromBase64Url(h(SIGNATURE_HEADERS.key)),
    });
    return ed25519.verify(fromBase64Url(h(SIGNATURE_HEADERS.signature)), message, publicKey);
  } catch {
    return false;
  }
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const body = await read(req);
    const isTrpc = u.pathname.startsWith("/trpc/");
    const input = isTrpc
      ? req.method === "GET"
        ? JSON.parse(u.searchParams.get("input") ?? "null")
        : JSON.parse(new TextDecoder().decode(body) || "null")
      : undefined;
    const s: Seen = {
      method: req.method ?? "",
      path: u.pathname,
      body,
      input,
      signed: verify(req, u.pathname + u.search, body),
    };
    seen.push(s);
    const handler = handlers.get(u.pathname) ?? handlers.get(u.pathname.replace(/[^/]+\/\d+$/, ":id/:round"));
    const reply = handler
      ? await handler(s)
      : { status: 404, json: { error: { code: "NOT_FOUND", message: "no route" } } };
    res.writeHead(reply.status, { "content-type": "application/json" });
    res.end(reply.json === undefined ? "" : JSON.stringify(reply.json));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const ok = (data: unknown): Reply => ({ status: 200, json: { result: { data } } });
const trpcError = (status: number, code: string, relink?: unknown): Reply => ({
  status,
  json: {
    error: {
      message: "refused",
      code: -32600,
      data: { code, httpStatus: status, ...(relink ? { relink } : {}) },
    },
  },
});

describe("exposure client: tRPC wire shape", () => {
  it("sends mutations as signed JSON POSTs and parses the result", async () => {
    handlers.set("/trpc/exposure.registerMaskKey", () => ok({ fingerprint: "fp", receipt: null }));
    handlers.set("/trpc/exposure.registerSubjects", (s) =>
      ok({ changed: (s.input as { tags: string[] }).tags.length, total: 7, receipt: null }),
    );
    const client = createExposureClient({ hubUrl: `${url}/`, signer, networkId: "relink.test" });
    seen.length = 0;
    expect(await client.registerMaskKey(new Uint8Array(32).fill(9))).toEqual({
      fingerprint: "fp",
      receipt: null,
    });
    const tags = [tagOf("a"), tagOf("b")];
    expect(await client.registerSubjects(3, tags)).toEqual({ changed: 2, total: 7, receipt: null });
    expect(seen.map((s) => [s.method, s.path, s.signed])).toEqual([
      ["POST", "/trpc/exposure.registerMaskKey", true],
      ["POST", "/trpc/exposure.registerSubjects", true],
    ]);
    expect(seen[0]?.input).toEqual({ publicKey: toBase64Url(new Uint8Array(32).fill(9)) });
    expect(seen[1]?.input).toEqual({ epoch: 3, tags });
  });

  it("sends the long poll as a signed POST (the router declares it a mutation); a 405 is a typed error, not a switch to GET", async () => {
    // Issue 14: the client is @trpc/client over the AppRouter type, so it no longer guesses procedure kinds
    // from 405 answers (the GET fallback this test used to cover is gone with the hand-written client).
    const task = sampleTask();
    let asQuery = false;
    handlers.set("/trpc/exposure.poll", (s) => {
      if ((s.method === "GET") !== asQuery) return trpcError(405, "METHOD_NOT_SUPPORTED");
      return ok({ tasks: [task] });
    });
    const client = createExposureClient({ hubUrl: url, signer, networkId: "relink.test" });
    seen.length = 0;
    expect(await client.poll(1234)).toEqual([task]);
    expect(seen[0]).toMatchObject({ method: "POST", input: { waitMs: 1234 }, signed: true });
    asQuery = true; // a hub that declared poll a query
    await expect(client.poll(10)).rejects.toMatchObject({ status: 405 });
    expect(seen.slice(1).map((s) => s.method)).toEqual(["POST"]);
  });

  it("turns hub errors into typed errors and refuses responses that fail the schema", async () => {
    const client = createExposureClient({ hubUrl: url, signer, networkId: "relink.test" });
    handlers.set("/trpc/exposure.unregisterSubjects", () =>
      trpcError(403, "FORBIDDEN", { code: "FORBIDDEN", message: "not a lender" }),
    );
    await expect(client.unregisterSubjects([tagOf("a")])).rejects.toMatchObject({
      code: "FORBIDDEN",
      status: 403,
      message: "not a lender",
      wire: { code: "FORBIDDEN", message: "not a lender" },
    });
    handlers.set("/trpc/exposure.unregisterSubjects", () => ({ status: 503 }));
    const unavailable = await client.unregisterSubjects([tagOf("a")]).catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(ExposureClientError);
    expect((unavailable as ExposureClientError).retryable).toBe(true);
    handlers.set("/trpc/exposure.unregisterSubjects", () => ok({ changed: "two" }));
    await expect(client.unregisterSubjects([tagOf("a")])).rejects.toMatchObject({ code: "BAD_RESPONSE" });
    const closed = createExposureClient({ hubUrl: "http://127.0.0.1:1", signer, networkId: "relink.test" });
    await expect(closed.poll(0)).rejects.toMatchObject({ code: "NETWORK", retryable: true });
  });

  it("submits small rounds as JSON and large ones on the binary route", async () => {
    const client = createExposureClient({ hubUrl: url, signer, networkId: "relink.test" });
    const queryId = crypto.randomUUID();
    const cts = [new Uint8Array(40).fill(1), new Uint8Array(70_000).fill(2)];
    handlers.set("/trpc/exposure.submit", () => ok({ accepted: true }));
    handlers.set("/v1/exposure/submit/:id/:round", () => ({ status: 200, json: { accepted: true } }));
    seen.length = 0;
    expect((await client.submit(queryId, 2, cts)).via).toBe("trpc");
    expect(seen[0]?.input).toEqual({ queryId, round: 2, ciphertexts: cts.map(toBase64Url) });
    const r = await client.submit(queryId, 2, cts, { binary: true });
    expect(r).toEqual({ accepted: true, via: "binary", bytes: 4 + 40 + 4 + 70_000 });
    expect(seen[1]).toMatchObject({ method: "POST", path: `/v1/exposure/submit/${queryId}/2`, signed: true });
    expect(unpackCiphertexts(seen[1]!.body, 10)).toEqual(cts);
    expect(seen[1]!.body).toEqual(packCiphertexts(cts));
    handlers.set("/v1/exposure/submit/:id/:round", () => ({
      status: 413,
      json: { error: { code: "PAYLOAD_TOO_LARGE", message: "too large" } },
    }));
    await expect(client.submit(queryId, 2, cts, { binary: true })).rejects.toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
    });
  });
});

function sampleTask(over: Partial<ExposureTask> = {}): ExposureTask {
  return {
    queryId: crypto.randomUUID(),
    round: 1,
    mode: "subjects",
    presetId: PRESET,
    publicKey: "AAAAAAAAAAAAAAAAAAAAAAAA",
    ciphertextCount: 1,
    slots: [{ tag: tagOf("x"), slotBase: 0 }],
    participants: [{ memberId: memberIds(1)[0]!, maskKey: toBase64Url(new Uint8Array(32).fill(3)) }],
    asOf: AS_OF,
    deadline: Date.now() + 60_000,
    ...over,
  };
}

describe("serveExposure over the wire", () => {
  it("answers tasks before their deadline, skips late ones, backs off after errors and stops on abort", async () => {
    const he = await loadHe();
    const ctx = he.context(PRESET);
    using querier = ctx.keygen();
    const r = rng(77);
    const lenders = memberIds(3).map((id, i) => makeLender(id, randomRecords(r, 20, 1, `S${i}`)));
    const [me, ...others] = lenders;
    const tags = Array.from({ length: 20 }, (_, s) => tagOf(subjectOf(s)));
    const task: ExposureTask = {
      ...sampleTask(),
      publicKey: toBase64Url(ctx.savePublicKey(querier.publicKey)),
      slots: tags.map((tag, i) => ({ tag, slotBase: 9 * i })),
      participants: lenders.map((l) => ({ memberId: l.memberId, maskKey: toBase64Url(l.mask.publicKey) })),
    };
    const late = { ...task, queryId: crypto.randomUUID(), deadline: Date.now() - 1_001 };
    const queue: unknown[] = [{ status: 500 }, [late, task]];
    const controller = new AbortController();
    const submitted: Seen[] = [];
    handlers.set("/trpc/exposure.poll", async (s) => {
      const next = queue.shift();
      if (next === undefined) {
        await new Promise((w) => setTimeout(w, Math.min((s.input as { waitMs: number }).waitMs, 30)));
        return ok({ tasks: [] });
      }
      return Array.isArray(next) ? ok({ tasks: next }) : (next as Reply);
    });
    handlers.set("/v1/exposure/submit/:id/:round", (s) => {
      submitted.push(s);
      setTimeout(() => controller.abort(), 50);
      return { status: 200, json: { accepted: true } };
    });
    const logs: ExposureServeLog[] = [];
    const stats = await serveExposure(me!.lender, {
      client: createExposureClient({ hubUrl: url, signer, networkId: "relink.test" }),
      maskSecret: me!.mask.secretKey,
      signal: controller.signal,
      he,
      pollWaitMs: 100,
      binaryAboveBytes: 0,
      backoff: { initialMs: 10, maxMs: 20 },
      log: (l) => logs.push(l),
    });
    expect(stats).toMatchObject({ pollErrors: 1, tasks: 2, answered: 1, expired: 1, refused: 0 });
    // This server has no task stream (404): the loop falls back to long polls and says so once.
    expect(logs.map((l) => l.event)).toEqual([
      "serve.start",
      "stream.unsupported",
      "poll.error",
      "task.expired",
      "task.answered",
      "serve.stop",
    ]);
    expect(logs[4]).toMatchObject({
      via: "binary",
      subjects: 20,
      unknown: 0,
      ciphertexts: 1,
      accepted: true,
    });
    // Counts and ids only: no figure, tag or identifier in any log line.
    const text = JSON.stringify(logs);
    for (const tag of tags) expect(text).not.toContain(tag);
    for (const f of EXPOSURE_FEATURES) expect(text).not.toContain(f);
    expect(submitted.map((s) => s.path)).toEqual([`/v1/exposure/submit/${task.queryId}/1`]);
    // The submitted answer, summed with the other participants' answers, is the oracle's.
    const mine = unpackCiphertexts(submitted[0]!.body, 10)!;
    const theirs = others.map(
      (l) => answerExposureTask(task, l.lender, l.mask.secretKey, he).ciphertexts[0]!,
    );
    const cts = [mine[0]!, ...theirs].map((c) => ctx.loadCiphertext(c));
    using sum = ctx.sum(cts);
    for (const c of cts) c.dispose();
    const values = ctx.decrypt(querier.secretKey, sum);
    const oracle = oracleSums(lenders, tags);
    tags.forEach((tag, i) => {
      const got = Object.fromEntries(EXPOSURE_FEATURES.map((f, j) => [f, Number(values[9 * i + j])]));
      expect(got).toEqual(oracle.get(tag));
    });
  });
});

describe("exposure client: the task stream", () => {
  /** A server that answers the task stream with the given raw chunks (written one after the other). */
  async function streamServer(
    status: number,
    type: string,
    chunks: string[],
  ): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
    const got: Seen[] = [];
    const s = createServer(async (req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      const body = await read(req);
      got.push({
        method: req.method ?? "",
        path: u.pathname,
        body,
        input: JSON.parse(new TextDecoder().decode(body) || "null"),
        signed: verify(req, u.pathname, body),
      });
      res.writeHead(status, { "content-type": type });
      res.flushHeaders();
      for (const c of chunks) {
        res.write(c);
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return {
      url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
      seen: got,
      close: () => new Promise<void>((r) => s.close(() => r())),
    };
  }

  it("signs one POST and hands over each line's tasks as they arrive, lines split across chunks", async () => {
    const [t1, t2, t3] = [sampleTask(), sampleTask({ round: 2 }), sampleTask()];
    const one = `${JSON.stringify({ tasks: [t1] })}\n`;
    const two = `${JSON.stringify({ tasks: [t2, t3] })}\n`;
    const srv = await streamServer(200, "application/x-ndjson; charset=utf-8", [
      one.slice(0, 40),
      one.slice(40) + two.slice(0, 7),
      two.slice(7),
    ]);
    try {
      const client = createExposureClient({ hubUrl: srv.url, signer, networkId: "relink.test" });
      const batches: ExposureTask[][] = [];
      await client.tasks(5_000, (tasks) => batches.push(tasks));
      expect(batches.map((b) => b.map((t) => t.queryId))).toEqual([[t1.queryId], [t2.queryId, t3.queryId]]);
      expect(srv.seen.map((x) => [x.method, x.path, x.signed, x.input])).toEqual([
        ["POST", "/v1/exposure/tasks", true, { waitMs: 5_000 }],
      ]);
    } finally {
      await srv.close();
    }
  });

  it("refuses a stream cut mid-line, a line that fails the schema and the wrong content type; 404 is NOT_FOUND", async () => {
    const cases: [number, string, string[], string, number | undefined][] = [
      [200, "application/x-ndjson", ['{"tasks":[]}\n{"tas'], "BAD_RESPONSE", undefined],
      [200, "application/x-ndjson", ['{"tasks":[{"round":0}]}\n'], "BAD_RESPONSE", undefined],
      [200, "application/json", ['{"tasks":[]}'], "BAD_RESPONSE", undefined],
      [404, "application/json", ['{"error":{"code":"NOT_FOUND","message":"no route"}}'], "NOT_FOUND", 404],
    ];
    for (const [status, type, chunks, code, httpStatus] of cases) {
      const srv = await streamServer(status, type, chunks);
      try {
        const client = createExposureClient({ hubUrl: srv.url, signer, networkId: "relink.test" });
        const error = await client.tasks(1_000, () => {}).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ExposureClientError);
        expect(error).toMatchObject({ code, status: httpStatus });
      } finally {
        await srv.close();
      }
    }
  });
});
