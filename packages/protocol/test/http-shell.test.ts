import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RelinkError } from "../src/errors.ts";
import {
  createHttpServer,
  HttpError,
  jsonLogger,
  listen,
  matchPath,
  readBody,
  sendJson,
} from "../src/http/shell.ts";

it("matches literal, parameter and rest segments", () => {
  expect(matchPath("/healthz", "/healthz")).toEqual({});
  expect(matchPath("/healthz", "/healthz/x")).toBeUndefined();
  expect(matchPath("/log/proof/:index", "/log/proof/42")).toEqual({ index: "42" });
  expect(matchPath("/log/tile/*rest", "/log/tile/0/x001/234.p/7")).toEqual({ rest: "0/x001/234.p/7" });
  expect(matchPath("/a/:b", "/a")).toBeUndefined();
});

it("refuses malformed percent-encoding in a captured segment with BAD_INPUT (issue 15.1)", () => {
  for (const bad of ["/trpc/%ZZ", "/trpc/a/%", "/trpc/%E0%A4%A"]) {
    expect(() => matchPath("/trpc/*path", bad)).toThrow(
      expect.objectContaining({ code: "BAD_INPUT", status: 400 }),
    );
  }
  expect(() => matchPath("/log/leaf/:index", "/log/leaf/%C0%AF")).toThrow(HttpError);
  // A path that does not match the pattern is never decoded.
  expect(matchPath("/healthz", "/%ZZ")).toBeUndefined();
});

describe("the shared HTTP shell (hub and key holder, ADR 0066)", () => {
  const lines: string[] = [];
  const log = jsonLogger(
    (l) => lines.push(l),
    () => new Date("2026-12-03T00:00:00Z"),
    { service: "t" },
  );
  const server = createHttpServer(
    [
      { method: "GET", path: "/n", handle: ({ res }) => sendJson(res, 200, { n: 12345678901234567890n }) },
      {
        method: "POST",
        path: "/echo",
        handle: async ({ req, res }) => sendJson(res, 200, { bytes: (await readBody(req, 1024)).length }),
      },
      {
        method: "GET",
        path: "/quota",
        handle: () => {
          throw new RelinkError("QUOTA_EXCEEDED", "slow down", { retryAfterSeconds: 7 });
        },
      },
      {
        method: "GET",
        path: "/internal",
        handle: () => {
          throw new RelinkError("INTERNAL", "stored tree at 5 does not extend checkpoint 6");
        },
      },
    ],
    log,
  );
  let url = "";
  beforeAll(async () => {
    url = (await listen(server, 0, "127.0.0.1")).url;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("writes bigints as decimal strings", async () => {
    expect(await (await fetch(`${url}/n`)).json()).toEqual({ n: "12345678901234567890" });
  });

  it("404 for an unknown path, 405 (code NOT_FOUND) for a known path under another method", async () => {
    const missing = await fetch(`${url}/nope`);
    expect([missing.status, (await missing.json()).error.code]).toEqual([404, "NOT_FOUND"]);
    const wrong = await fetch(`${url}/echo`);
    expect([wrong.status, (await wrong.json()).error.code]).toEqual([405, "NOT_FOUND"]);
  });

  it("bodies: within the limit read; a declared or a streamed body over it is 413 PAYLOAD_TOO_LARGE", async () => {
    const ok = await fetch(`${url}/echo`, { method: "POST", body: new Uint8Array(1024) });
    expect(await ok.json()).toEqual({ bytes: 1024 });
    const declared = await fetch(`${url}/echo`, { method: "POST", body: new Uint8Array(1025) });
    expect([declared.status, (await declared.json()).error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    // No Content-Length (chunked): drained, then refused with the same answer rather than a cut connection.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new Uint8Array(512));
        c.close();
      },
    });
    const chunked = await fetch(`${url}/echo`, {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect([chunked.status, (await chunked.json()).error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  });

  it("a RelinkError leaves with its code's status and Retry-After", async () => {
    const r = await fetch(`${url}/quota`);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("7");
    expect((await r.json()).error).toEqual({
      code: "QUOTA_EXCEEDED",
      message: "slow down",
      retryAfterSeconds: 7,
    });
  });

  it("INTERNAL is a bare 500 to the client and a log line (method, path) for the operator", async () => {
    lines.length = 0;
    const r = await fetch(`${url}/internal`);
    expect([r.status, await r.json()]).toEqual([
      500,
      { error: { code: "INTERNAL", message: "internal error" } },
    ]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "error",
      event: "http.unhandled",
      service: "t",
      method: "GET",
      path: "/internal",
    });
  });
});
