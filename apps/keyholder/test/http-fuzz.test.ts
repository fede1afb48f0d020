/**
 * Issue 15.1 / threat model T15 for the key holder: a real holder (startKeyHolder with a stored 2-of-2
 * share, so /v1/evaluate runs past authentication) listens on a port; fast-check sends raw HTTP/1.1 over
 * node:net — hostile paths, methods, headers (bad Content-Length, oversize, malformed signature headers)
 * and bodies, unsigned and validly signed by a known member. Every answer must be a well-formed 2xx/4xx
 * JSON with a code from ERROR_CODES; nothing may be logged at error level; /healthz answers 200 after.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ERROR_CODES, keyHolderAudience, SIGNATURE_HEADERS, toBase64Url } from "@relink/protocol";
import { checkRawAnswer, rawExchange, rawRequestArbitrary } from "@relink/protocol/http/testing";
import { nobleGroup } from "@relink/psi";
import { insecureTrustedDealerSplitForTestsOnly } from "@relink/psi/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseNetworkConfig } from "../src/config.ts";
import { type KeyHolder, startKeyHolder } from "../src/holder.ts";
import { generateIdentity, publicIdentity } from "../src/identity.ts";
import { saveEpoch } from "../src/store.ts";
import { type DirectoryStandIn, signHeaders, startDirectory, testMember } from "./helpers.ts";

const WAIT_MS = Number(process.env["RELINK_FUZZ_WAIT_MS"] ?? 60_000);
const PATHS = [
  "/healthz",
  "/v1/info",
  "/v1/public-keys",
  "/v1/usage",
  "/v1/evaluate",
  "/v1/dkg/round1",
  "/v1/dkg/round2",
  "/",
];

describe("key holder HTTP layer under hostile input", () => {
  const root = mkdtempSync(join(tmpdir(), "relink-kh-fuzz-"));
  const member = testMember("fuzzer", "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a99", 1_000_000);
  const errors: string[] = [];
  let directory: DirectoryStandIn;
  let holder: KeyHolder;
  let port: number;

  beforeAll(async () => {
    directory = await startDirectory([member.entry]);
    const ids = [generateIdentity(1), generateIdentity(2)];
    const config = parseNetworkConfig({
      networkId: "relink-fuzz",
      epoch: 1,
      threshold: 2,
      holders: ids.map((id, i) => ({ ...publicIdentity(id), url: `http://127.0.0.1:${9 + i}` })),
    });
    const dealt = insecureTrustedDealerSplitForTestsOnly(
      { networkId: "relink-fuzz", epoch: 1, threshold: 2, holders: 2 },
      (n) => crypto.getRandomValues(new Uint8Array(n)),
    );
    const dataDir = join(root, "holder-1");
    saveEpoch(dataDir, { key: dealt.keys[0]!, publicKeys: dealt.publicKeys, configDigest: config.digest });
    holder = await startKeyHolder({
      dataDir,
      config,
      identity: ids[0]!,
      hubUrl: directory.url,
      host: "127.0.0.1",
      port: 0,
      log: {
        info() {},
        warn() {},
        error: (event, fields) => errors.push(`${event} ${JSON.stringify(fields)}`),
      },
      workers: 1,
      dkgTimeoutMs: 60_000,
      directoryTtlMs: 60_000,
      directoryRefetchMs: 60_000,
    });
    await holder.ready;
    port = holder.port;
  });

  afterAll(async () => {
    await holder?.close();
    await directory?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const expectAlive = async () => {
    const health = await rawExchange(port, "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", {
      waitMs: WAIT_MS,
    });
    expect(health.responses.map((r) => r.status)).toEqual([200]);
    expect(errors).toEqual([]);
  };

  it("answers what Node's parser refuses with typed JSON (bad Content-Length, oversize headers)", async () => {
    const bad = await rawExchange(port, "POST /v1/evaluate HTTP/1.1\r\ncontent-length: -1\r\n\r\n", {
      waitMs: WAIT_MS,
    });
    expect(bad.responses[0]!.status).toBe(400);
    expect(JSON.parse(bad.responses[0]!.body.toString()).error.code).toBe("BAD_INPUT");
    const huge = await rawExchange(port, `GET /healthz HTTP/1.1\r\nx-big: ${"a".repeat(40_000)}\r\n\r\n`, {
      waitMs: WAIT_MS,
    });
    expect(huge.responses[0]!.status).toBe(431);
    const absolute = await rawExchange(
      port,
      "GET http://evil.example/healthz HTTP/1.1\r\nconnection: close\r\n\r\n",
      {
        waitMs: WAIT_MS,
      },
    );
    expect(absolute.responses[0]!.status).toBe(400);
    await expectAlive();
  });

  it("fuzz: raw paths, methods, headers and bodies never crash it nor get a 500", async () => {
    await fc.assert(
      fc.asyncProperty(
        rawRequestArbitrary(fc, { paths: PATHS, signatureHeaders: Object.values(SIGNATURE_HEADERS) }),
        async (request) => {
          const ex = await rawExchange(port, request.bytes, {
            endAfterWrite: request.framingGarbage,
            headOnly: request.method === "HEAD",
            waitMs: WAIT_MS,
          });
          checkRawAnswer(ex, request, { codes: ERROR_CODES });
        },
      ),
      { numRuns: 250 },
    );
    await expectAlive();
  });

  it("a large batch is validated in one pass; one bad element among 300 is named by its index", async () => {
    const post = async (elements: Uint8Array[]) => {
      const text = JSON.stringify({
        networkId: "relink-fuzz",
        epoch: 1,
        proof: "none",
        blindedElements: elements.map(toBase64Url),
      });
      const headers = signHeaders(
        member.secretKey,
        keyHolderAudience("relink-fuzz", 1),
        "POST",
        "/v1/evaluate",
        text,
      );
      const res = await fetch(`http://127.0.0.1:${port}/v1/evaluate`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: text,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const good = Array.from({ length: 300 }, (_, i) =>
      nobleGroup.mulBase(nobleGroup.scalarReduce(new Uint8Array(64).fill((i % 255) + 1))),
    );
    const ok = await post(good);
    expect(ok.status).toBe(200);
    expect((ok.body["evaluatedElements"] as unknown[]).length).toBe(300);
    const bad = [...good];
    bad[257] = new Uint8Array(32).fill(0xff);
    const refused = await post(bad);
    expect(refused.status).toBe(400);
    expect(refused.body["error"]).toMatchObject({ code: "BAD_INPUT", field: "blindedElements[257]" });
    bad[257] = new Uint8Array(32);
    expect((await post(bad)).body["error"]).toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringContaining("identity element"),
    });
    await expectAlive();
  });

  it("fuzz: validly signed evaluate and DKG requests with garbage bodies get typed 4xx answers", async () => {
    const seen = new Set<string>();
    const element = fc.oneof(
      fc.base64String({ maxLength: 60 }),
      fc.string({ maxLength: 50 }),
      fc.constantFrom("A".repeat(43), "_".repeat(43), ""),
    );
    const body = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 300 }),
      fc
        .record({
          networkId: fc.oneof(fc.constant("relink-fuzz"), fc.string({ maxLength: 10 })),
          epoch: fc.oneof(fc.constant(1), fc.integer(), fc.double()),
          blindedElements: fc.array(element, { maxLength: 5 }),
        })
        .map((r) => JSON.stringify(r)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/evaluate", "/v1/dkg/round1", "/v1/dkg/round2"),
        body,
        async (path, text) => {
          const headers = signHeaders(
            member.secretKey,
            keyHolderAudience("relink-fuzz", 1),
            "POST",
            path,
            text,
          );
          const bytes = Buffer.from(text, "utf8");
          const head = [
            `POST ${path} HTTP/1.1`,
            "host: x",
            ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
            `content-length: ${bytes.length}`,
            "connection: close",
            "",
            "",
          ].join("\r\n");
          const raw = Buffer.concat([Buffer.from(head, "latin1"), bytes]);
          const ex = await rawExchange(port, raw, { waitMs: WAIT_MS });
          const statuses = checkRawAnswer(
            ex,
            {
              bytes: raw,
              method: "POST",
              framingGarbage: false,
              label: `POST ${path} body=${bytes.length}B`,
            },
            { codes: ERROR_CODES },
          );
          expect(statuses).toHaveLength(1);
          seen.add(JSON.parse(ex.responses[0]!.body.toString()).error?.code ?? "ok");
        },
      ),
      { numRuns: 150 },
    );
    // The signatures were good: requests got past authentication to the body checks.
    expect(seen).toContain("BAD_INPUT");
    await expectAlive();
  });
});
