/**
 * Issue 15.1 / threat model T15: no request can take the hub down or make it answer 500. A real hub
 * (startHub: every route mounted — health, audit log, tRPC, binary exposure submit) listens on a port;
 * fast-check sends raw HTTP/1.1 over node:net — hostile paths (percent-encoding garbage like `/trpc/%ZZ`,
 * `..`, unicode, overlong), methods, headers (bad Content-Length, oversize, malformed signature headers)
 * and bodies, unsigned and validly signed. Every answer must be a well-formed 2xx/4xx JSON with a code from
 * ERROR_CODES; no `http.unhandled`/internal error may be logged; /healthz still answers 200 afterwards.
 */
import { appRouter } from "@relink/api";
import { seededBytes, signRequest } from "@relink/core/testing";
import { ERROR_CODES, SIGNATURE_HEADERS } from "@relink/protocol";
import { checkRawAnswer, rawExchange, rawRequestArbitrary } from "@relink/protocol/http/testing";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningHub } from "../src/hub.ts";
import { BACKENDS, onboardHubMember, startTestHub, suiteFor } from "./helpers.ts";

const WAIT_MS = Number(process.env["RELINK_FUZZ_WAIT_MS"] ?? 60_000);
const PROCEDURES = Object.keys((appRouter as unknown as { _def: { procedures: object } })._def.procedures);

for (const backend of BACKENDS) {
  suiteFor(backend)(`hub HTTP layer under hostile input [${backend}]`, () => {
    let hub: RunningHub;
    let closeHub: (() => Promise<void>) | undefined;
    const lines: { level: string; event: string }[] = [];
    const secretKey = seededBytes(77)(32);

    beforeAll(async () => {
      const line = (level: string) => (event: string) => {
        lines.push({ level, event });
      };
      ({ hub, close: closeHub } = await startTestHub(backend, {
        log: { info: line("info"), warn: line("warn"), error: line("error") },
        signer: (await import("@relink/tlog")).generateSignerKey("relink.test/fuzz/v1", seededBytes(5)),
      }));
      await onboardHubMember(hub, secretKey, {
        slug: "fuzzer",
        capabilities: ["lender", "collector", "querier"],
      });
    });

    afterAll(async () => {
      await closeHub?.();
    });

    const expectAlive = async () => {
      const health = await rawExchange(
        hub.port,
        "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        {
          waitMs: WAIT_MS,
        },
      );
      expect(health.responses.map((r) => r.status)).toEqual([200]);
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
    };

    it("answers the issue's attacks (/trpc/%ZZ, /log/leaf/%ZZ) with a typed 400 and keeps serving", async () => {
      for (const path of ["/trpc/%ZZ", "/log/leaf/%ZZ", "/log/receipt/%E0%A4%A", "/trpc/a/%"]) {
        const ex = await rawExchange(
          hub.port,
          `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
          {
            waitMs: WAIT_MS,
          },
        );
        expect(ex.responses).toHaveLength(1);
        expect(ex.responses[0]!.status).toBe(400);
        expect(JSON.parse(ex.responses[0]!.body.toString()).error.code).toBe("BAD_INPUT");
      }
      // What Node's parser refuses gets the same typed JSON shape, not a bare "400 Bad Request".
      const bad = await rawExchange(hub.port, "GET /healthz HTTP/1.1\r\ncontent-length: abc\r\n\r\n", {
        waitMs: WAIT_MS,
      });
      expect(bad.responses[0]!.status).toBe(400);
      expect(bad.responses[0]!.headers["content-type"]).toMatch(/^application\/json/);
      expect(JSON.parse(bad.responses[0]!.body.toString()).error.code).toBe("BAD_INPUT");
      const huge = await rawExchange(
        hub.port,
        `GET /healthz HTTP/1.1\r\nx-big: ${"a".repeat(40_000)}\r\n\r\n`,
        {
          waitMs: WAIT_MS,
        },
      );
      expect(huge.responses[0]!.status).toBe(431);
      await expectAlive();
    });

    it("fuzz: raw paths, methods, headers and bodies never crash it nor get a 500", async () => {
      await fc.assert(
        fc.asyncProperty(
          rawRequestArbitrary(fc, {
            paths: [
              "/trpc/",
              ...PROCEDURES.map((p) => `/trpc/${p}`),
              "/log/leaf/",
              "/log/receipt/",
              "/log/proof/inclusion?index=",
              "/log/proof/consistency?from=1&to=",
              "/log/checkpoint",
              "/v1/exposure/submit/",
              "/healthz",
              "/",
            ],
            signatureHeaders: Object.values(SIGNATURE_HEADERS),
          }),
          async (request) => {
            const ex = await rawExchange(hub.port, request.bytes, {
              endAfterWrite: request.framingGarbage,
              headOnly: request.method === "HEAD",
              waitMs: WAIT_MS,
            });
            checkRawAnswer(ex, request, { codes: ERROR_CODES, allowText: true, allowUnavailable: true });
          },
        ),
        { numRuns: 250 },
      );
      await expectAlive();
    });

    it("fuzz: validly signed requests with garbage bodies and queries get typed 4xx answers", async () => {
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...PROCEDURES, "nope", "exposure", ""),
          fc.constantFrom("GET", "POST"),
          fc.oneof(
            fc.uint8Array({ maxLength: 400 }),
            fc.json({ maxDepth: 4 }).map((j) => new TextEncoder().encode(j)),
            fc.json({ maxDepth: 3 }).map((j) => new TextEncoder().encode(`{"json":${j}}`)),
          ),
          fc.constantFrom("", "?input=%ZZ", "?batch=1&input=%7B%7D", "?input=%7B%22a%22%3A1%7D", "?input="),
          async (procedure, method, body, query) => {
            const path = `/trpc/${procedure}${method === "GET" ? query : ""}`;
            const sent = method === "GET" ? new Uint8Array() : body;
            const r = signRequest(secretKey, { method, path, body: sent, timestampMs: Date.now() });
            const head = [
              `${method} ${path} HTTP/1.1`,
              "host: x",
              "content-type: application/json",
              ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`),
              `content-length: ${sent.length}`,
              "connection: close",
              "",
              "",
            ].join("\r\n");
            const bytes = Buffer.concat([Buffer.from(head, "latin1"), Buffer.from(sent)]);
            const ex = await rawExchange(hub.port, bytes, { waitMs: WAIT_MS });
            checkRawAnswer(
              ex,
              { bytes, method, framingGarbage: false, label: `${method} ${path} body=${sent.length}B` },
              { codes: ERROR_CODES, allowUnavailable: true },
            );
            const json = JSON.parse(ex.responses[0]?.body.toString() || "{}");
            seen.add(json.error?.data?.relink?.code ?? json.error?.data?.code ?? "ok");
          },
        ),
        { numRuns: 150 },
      );
      // The signatures were good: requests got past authentication to input validation.
      expect(seen).toContain("BAD_INPUT");
      await expectAlive();
    });
  });
}
