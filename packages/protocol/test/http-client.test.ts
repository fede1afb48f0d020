/**
 * The request layer (src/http/client.ts, ADR 0005) against real sockets. The stale keep-alive scenario of
 * issue 9 is played for real: the server runs in a worker thread (its own event loop) with a short
 * keepAliveTimeout; the client makes a request, then blocks its own event loop until the server has closed
 * the idle connection, then makes the next request on the same pool — which writes onto the dead socket.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import { Agent } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import {
  CLIENT_KEEP_ALIVE_MS,
  createRequester,
  isRetryable,
  type RetryEvent,
  retryPolicyFromEnv,
  SERVER_KEEP_ALIVE_MS,
  transportErrorCode,
} from "../src/http/index.ts";
import { SIGNATURE_HEADERS } from "../src/index.ts";

const WAIT_MS = Number(process.env["RELINK_TEST_WAIT_MS"] ?? 120_000);

/** The worker: an HTTP server with a 300 ms keep-alive that flags (shared memory) each closed socket. */
const WORKER = `
const { createServer } = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const closed = new Int32Array(workerData.flag);
let requests = 0;
const server = createServer((req, res) => {
  requests++;
  req.resume();
  req.on("end", () => {
    // It announces a long keep-alive but closes idle sockets after 300 ms, so the client keeps the
    // socket in its pool and only the server closes it (Node would announce timeout=0 and the client
    // would drop the socket at once).
    res.writeHead(200, { "content-type": "application/json", "keep-alive": "timeout=60" });
    res.end(JSON.stringify({ requests, method: req.method }));
  });
});
server.keepAliveTimeout = 300;
server.on("connection", (socket) => socket.on("close", () => {
  Atomics.add(closed, 0, 1);
  Atomics.notify(closed, 0);
}));
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
parentPort.on("message", (m) => { if (m === "stop") server.close(() => process.exit(0)); });
`;

async function workerServer(): Promise<{ url: string; closed: Int32Array; stop(): Promise<void> }> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, { eval: true, workerData: { flag } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    closed: new Int32Array(flag),
    stop: async () => {
      worker.postMessage("stop");
      await new Promise((r) => worker.once("exit", r));
    },
  };
}

/** Blocks this thread (the event loop included) until the server has closed `before + 1` sockets. */
function blockUntilServerClosed(closed: Int32Array, before: number): void {
  const deadline = Date.now() + WAIT_MS;
  while (Atomics.load(closed, 0) <= before) {
    if (Date.now() > deadline) throw new Error("the server never closed the idle connection");
    Atomics.wait(closed, 0, Atomics.load(closed, 0), 50);
  }
}

const agents: Agent[] = [];
const freshAgent = () => {
  // The client's own keep-alive is long here, so that only the server closes the idle socket.
  const a = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
  agents.push(a);
  return a;
};
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
});

describe("stale keep-alive socket after a blocked event loop (issue 9)", () => {
  it("a POST after the client's event loop was blocked past the server's keep-alive succeeds", async () => {
    const server = await workerServer();
    try {
      const request = createRequester({ dispatcher: freshAgent(), retry: { baseDelayMs: 1 } });
      const first = await request(`${server.url}/a`, { method: "POST", body: "{}" });
      expect(first.status).toBe(200);
      await first.text();
      blockUntilServerClosed(server.closed, Atomics.load(server.closed, 0));
      // The event loop has not run since the server closed the socket: the pool still holds it as idle.
      const second = await request(`${server.url}/b`, {
        method: "POST",
        body: "{}",
        headers: { [SIGNATURE_HEADERS.nonce]: "n2" },
      });
      expect(second.status).toBe(200);
      expect(await second.json()).toMatchObject({ method: "POST" });
    } finally {
      await server.stop();
    }
  });
});

/**
 * The race itself, made deterministic: the server closes the connection just as the next request on it
 * arrives (as a server whose keep-alive timer fires at that moment does) — it never processes it.
 */
async function closingServer(drop: number): Promise<{ url: string; handled: () => number; close(): void }> {
  let handled = 0;
  let toDrop = drop;
  const s = createServer((req, res) => {
    if (toDrop > 0) {
      toDrop--;
      req.socket.destroy();
      return;
    }
    handled++;
    req.resume();
    req.on("end", () => res.end(JSON.stringify({ handled })));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    handled: () => handled,
    close: () => {
      s.closeAllConnections();
      s.close();
    },
  };
}

describe("a connection closed before any response byte", () => {
  it("is retried for a signed POST (identical bytes) and succeeds; the server processed it once", async () => {
    const server = await closingServer(2);
    try {
      const retries: RetryEvent[] = [];
      const request = createRequester({
        dispatcher: freshAgent(),
        retry: { baseDelayMs: 1 },
        onRetry: (e) => retries.push(e),
      });
      const res = await request(`${server.url}/x`, {
        method: "POST",
        body: "{}",
        headers: { [SIGNATURE_HEADERS.nonce]: "AAAAAAAAAAAAAAAAAAAAAA" },
      });
      expect(await res.json()).toEqual({ handled: 1 });
      expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
      expect(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE", "UND_ERR_CLOSED"]).toContain(retries[0]!.code);
    } finally {
      server.close();
    }
  });

  it("control: without retries the caller sees the socket error users saw", async () => {
    const server = await closingServer(1);
    try {
      const request = createRequester({ dispatcher: freshAgent(), retry: { retries: 0 } });
      const error = await request(`${server.url}/x`, { method: "POST", body: "{}" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE", "UND_ERR_CLOSED"]).toContain(
        transportErrorCode(error),
      );
    } finally {
      server.close();
    }
  });

  it("is not retried for an unsigned POST (it might have been processed)", async () => {
    const server = await closingServer(1);
    try {
      const request = createRequester({ dispatcher: freshAgent(), retry: { baseDelayMs: 1 } });
      await expect(request(`${server.url}/x`, { method: "POST", body: "{}" })).rejects.toThrow();
      expect(server.handled()).toBe(0);
    } finally {
      server.close();
    }
  });

  it("gives up after the configured number of retries", async () => {
    const server = await closingServer(10);
    try {
      const retries: RetryEvent[] = [];
      const request = createRequester({
        dispatcher: freshAgent(),
        retry: { retries: 3, baseDelayMs: 1 },
        onRetry: (e) => retries.push(e),
      });
      await expect(request(`${server.url}/x`)).rejects.toThrow();
      expect(retries).toHaveLength(3);
    } finally {
      server.close();
    }
  });
});

describe("what is and is not retried", () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it("retries a refused connection (service restarting) until it listens", async () => {
    // Take a free port, start nothing on it, and start the server only after the first refusals.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const events: RetryEvent[] = [];
    const request = createRequester({
      dispatcher: freshAgent(),
      retry: { retries: 50, baseDelayMs: 1, maxDelayMs: 1 },
      onRetry: (e) => {
        events.push(e);
        if (events.length === 2) {
          server = createServer((_q, res) => res.end("up"));
          server.listen(port, "127.0.0.1");
        }
      },
    });
    const res = await request(`http://127.0.0.1:${port}/`, { method: "POST", body: "x" });
    expect(await res.text()).toBe("up");
    expect(events[0]!.code).toBe("ECONNREFUSED");
  });

  it("never retries once a response arrived, whatever its status", async () => {
    let hits = 0;
    const s = createServer((_q, res) => {
      hits++;
      res.writeHead(503).end();
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    try {
      const request = createRequester({ dispatcher: freshAgent(), retry: { baseDelayMs: 1 } });
      const res = await request(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`);
      expect(res.status).toBe(503);
      expect(hits).toBe(1);
    } finally {
      s.closeAllConnections();
      s.close();
    }
  });

  it("classifies: a reset is retried only for idempotent or nonce-signed requests; aborts never", () => {
    const reset = new TypeError("fetch failed", {
      cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
    });
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
    });
    const plain = new Headers();
    const signed = new Headers({ [SIGNATURE_HEADERS.nonce]: "AAAA" });
    expect(isRetryable(reset, "GET", plain)).toBe(true);
    expect(isRetryable(reset, "POST", plain)).toBe(false);
    expect(isRetryable(reset, "POST", signed)).toBe(true);
    expect(isRetryable(refused, "POST", plain)).toBe(true);
    expect(isRetryable(Object.assign(new Error("t"), { name: "TimeoutError" }), "GET", plain)).toBe(false);
    expect(isRetryable(new Error("boom"), "GET", plain)).toBe(false);
  });

  it("reads its policy from the environment and refuses nonsense", () => {
    expect(retryPolicyFromEnv({ RELINK_HTTP_RETRIES: "2", RELINK_HTTP_RETRY_BASE_MS: "10" })).toEqual({
      retries: 2,
      baseDelayMs: 10,
    });
    expect(() => retryPolicyFromEnv({ RELINK_HTTP_RETRIES: "-1" })).toThrow(/RELINK_HTTP_RETRIES/);
  });

  it("keeps the client's idle timeout below the servers'", () => {
    expect(CLIENT_KEEP_ALIVE_MS).toBeLessThan(SERVER_KEEP_ALIVE_MS);
  });
});
