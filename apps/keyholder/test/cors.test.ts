/** The portal's browser worker calls key holders cross-origin: a preflight must allow every header it signs. */
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADERS } from "@relink/protocol";
import { createHttpServer, type Logger } from "@relink/protocol/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyHolderCors } from "../src/holder.ts";

const PORTAL = "http://portal.example:3000";
const quiet: Logger = { info() {}, warn() {}, error() {} };

describe("key holder CORS (ADR 0060)", () => {
  const server = createHttpServer([], quiet, {
    timeouts: { requestTimeoutMs: 60_000 },
    cors: keyHolderCors([PORTAL]),
  });
  let url = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("a listed origin's preflight allows every signed-request header", async () => {
    const res = await fetch(`${url}/v1/evaluate`, {
      method: "OPTIONS",
      headers: { origin: PORTAL, "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(PORTAL);
    const allowed = (res.headers.get("access-control-allow-headers") ?? "").split(/,\s*/);
    for (const h of [...Object.values(SIGNATURE_HEADERS), "content-type"]) expect(allowed).toContain(h);
  });

  it("an unlisted origin gets no CORS grant", async () => {
    const res = await fetch(`${url}/v1/evaluate`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
