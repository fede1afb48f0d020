/**
 * The request layer's retry (protocol/http client.ts, ADR 0005) against the real hub and its replay
 * protection. A TCP relay between client and hub (a test tool on node:net, not a stand-in for either)
 * loses one exchange in one of two ways:
 *  - "never saw it": it closes the client's connection as soon as the request arrives, forwarding nothing;
 *  - "answer lost": it forwards the request, lets the hub answer, then closes the client's connection
 *    without passing the answer on.
 * The member's request is signed once (as the sdk's signedFetch does) and the layer resends the identical
 * bytes. The first case must succeed with one effect; in the second the retry is a genuine replay and
 * must be refused (REPLAYED_REQUEST), still with exactly one effect.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { sha256 } from "@noble/hashes/sha2.js";
import { seededBytes, signRequest } from "@relink/core/testing";
import { auditLogSize } from "@relink/db";
import { createAgent, createRequester, type RetryEvent } from "@relink/protocol/http";
import { generateSignerKey } from "@relink/tlog";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningHub } from "../src/hub.ts";
import { BACKENDS, onboardHubMember, signedTestConsent, startTestHub, suiteFor } from "./helpers.ts";

type Mode = "pass" | "drop-request" | "drop-answer";

/** A relay to `port` whose next connection is spoilt as `mode` says; later ones pass through. */
async function relay(port: number): Promise<{ port: number; next: (m: Mode) => void; close(): void }> {
  let mode: Mode = "pass";
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    const m = mode;
    mode = "pass";
    if (m === "drop-request") {
      client.once("data", () => client.destroy());
      return;
    }
    const upstream = connect({ port, host: "127.0.0.1" });
    sockets.add(upstream);
    client.pipe(upstream);
    if (m === "drop-answer") {
      // The hub answers in full; the client never sees a byte of it.
      upstream.once("data", () => {
        client.destroy();
        upstream.resume();
      });
    } else {
      upstream.pipe(client);
    }
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", () => upstream.end());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    next: (m) => {
      mode = m;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

for (const backend of BACKENDS) {
  suiteFor(backend)(`retries against the hub's replay protection [${backend}]`, () => {
    let hub: RunningHub;
    let closeHub: (() => Promise<void>) | undefined;
    let proxy: Awaited<ReturnType<typeof relay>>;
    const secretKey = seededBytes(31)(32);
    let n = 0;
    let memberId = "";

    beforeAll(async () => {
      ({ hub, close: closeHub } = await startTestHub(backend, {
        signer: generateSignerKey("relink.test/retry/v1", seededBytes(3)),
      }));
      memberId = await onboardHubMember(hub, secretKey, { slug: "retrier", capabilities: ["querier"] });
      proxy = await relay(hub.port);
    });

    afterAll(async () => {
      proxy?.close();
      await closeHub?.();
    });

    /** One consent batch (one audit leaf), signed once, sent through the layer via the relay. */
    async function registerConsent(mode: Mode): Promise<{ res: Response; retries: RetryEvent[] }> {
      n++;
      const path = "/trpc/consent.register";
      const body = JSON.stringify({
        consents: [
          // Signed (consent attestation, ADR 0045) as every registration must be.
          signedTestConsent(
            secretKey,
            memberId,
            {
              reference: `retry-${backend}-${n}`,
              tag: sha256(new TextEncoder().encode(`subject-${n}`)),
              evidence: `e-${n}`,
              caseId: `case-${n}`,
            },
            { purpose: "credit_assessment", dataCategories: ["credit_exposure"] },
          ),
        ],
      });
      const signed = signRequest(secretKey, { method: "POST", path, body, timestampMs: Date.now() });
      const retries: RetryEvent[] = [];
      // A fresh pool per call, so that the relay's next connection is this request's.
      const request = createRequester({
        dispatcher: createAgent(),
        retry: { baseDelayMs: 1 },
        onRetry: (e) => retries.push(e),
      });
      proxy.next(mode);
      const res = await request(`http://127.0.0.1:${proxy.port}${path}`, {
        method: "POST",
        headers: { ...signed.headers, "content-type": "application/json" },
        body,
      });
      return { res, retries };
    }

    it("a signed request the hub never saw is retried with the same bytes and takes effect once", async () => {
      const before = await auditLogSize(hub.db.db);
      const { res, retries } = await registerConsent("drop-request");
      expect(res.status, await res.clone().text()).toBe(200);
      expect(retries).toHaveLength(1);
      expect(await auditLogSize(hub.db.db)).toBe(before + 1n);
    });

    it("a retry of a request the hub did process is a genuine replay: refused, still one effect", async () => {
      const before = await auditLogSize(hub.db.db);
      const { res, retries } = await registerConsent("drop-answer");
      expect(retries).toHaveLength(1);
      expect(res.status).toBe(401);
      expect((await res.json()).error.data.relink.code).toBe("REPLAYED_REQUEST");
      expect(await auditLogSize(hub.db.db)).toBe(before + 1n);
    });

    it("control: an undisturbed request takes effect once with no retry", async () => {
      const before = await auditLogSize(hub.db.db);
      const { res, retries } = await registerConsent("pass");
      expect(res.status).toBe(200);
      expect(retries).toHaveLength(0);
      expect(await auditLogSize(hub.db.db)).toBe(before + 1n);
    });
  });
}
