/**
 * The holder's long poll on the member directory (ADR 0038) against a stand-in hub that holds polls the way
 * the hub does (answers when the version differs from the one named, or after the wait): a suspension is
 * seen long before the TTL (10 min here); a hub that goes away and comes back on the same address is
 * followed again through the retry backoff, and a change made while it was down arrives; close() abandons
 * a poll in flight at once. The real hub and holders are exercised in apps/demo/test/keys/revocation-push.ts
 * (run by keys.e2e.test.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ed25519 } from "@noble/curves/ed25519.js";
import { keyFingerprint, type MemberDirectoryEntry } from "@relink/protocol";
import { createRequester } from "@relink/protocol/http";
import { afterEach, expect, it } from "vitest";
import { MemberDirectory } from "../src/directory.ts";
import { testMember } from "./helpers.ts";

const quiet = { info() {}, warn() {}, error() {} };
const TTL_MS = 600_000;
/** Every wait below ends well before the TTL (or a poll's own wait) could have done the work instead. */
const deadlineMs = Math.min(Number(process.env["RELINK_TEST_TIMEOUT_MS"] || 60_000), TTL_MS / 2);

/** A directory that holds `?input={knownVersion,waitMs}` polls until `change()` or the wait ends. */
class HoldingDirectory {
  version = 1;
  members: MemberDirectoryEntry[];
  held = new Set<() => void>();
  server: Server | undefined;
  port = 0;
  constructor(members: MemberDirectoryEntry[]) {
    this.members = members;
  }
  async start(): Promise<void> {
    this.server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((r) => this.server!.listen(this.port, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const input = url.searchParams.get("input");
    const answer = () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ result: { data: { version: this.version, members: this.members } } }));
    };
    const poll = input ? (JSON.parse(input) as { knownVersion: number; waitMs: number }) : undefined;
    if (!poll || poll.knownVersion !== this.version) {
      answer();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      this.held.delete(done);
      if (!res.writableEnded) answer();
    };
    const timer = setTimeout(done, poll.waitMs);
    this.held.add(done);
    req.socket.on("close", () => {
      clearTimeout(timer);
      this.held.delete(done);
    });
  }
  change(members: MemberDirectoryEntry[]): void {
    this.members = members;
    this.version++;
    for (const wake of [...this.held]) wake();
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.held.clear();
    if (s)
      await new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      });
  }
}

const stop: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of stop.splice(0).reverse()) await f();
});

async function until(check: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function follower(hub: HoldingDirectory, waitMs = 5_000): MemberDirectory {
  const d = new MemberDirectory({
    hubUrl: hub.url,
    ttlMs: TTL_MS,
    refetchMinMs: TTL_MS,
    log: quiet,
    waitMs,
    retryBaseMs: 50,
    retryMaxMs: 200,
    // No request-layer retries: the loop's own backoff is what is under test.
    fetch: createRequester({ retry: { retries: 0 } }),
  });
  stop.push(() => d.close());
  return d;
}

const fingerprintOf = (m: ReturnType<typeof testMember>) =>
  keyFingerprint("ed25519", ed25519.getPublicKey(m.secretKey));

it("a suspension arrives by the long poll, long before the TTL", async () => {
  const m = testMember("follow-a", "3b1f0c64-5a1c-4c9a-9d6e-000000000001", 10);
  const hub = new HoldingDirectory([m.entry]);
  await hub.start();
  stop.push(() => hub.stop());
  const d = follower(hub);
  expect((await d.find(fingerprintOf(m)))?.member.status).toBe("active");
  d.follow();
  expect(await until(async () => hub.held.size > 0)).toBe(true);
  hub.change([{ ...m.entry, status: "suspended" }]);
  expect(await until(async () => (await d.find(fingerprintOf(m)))?.member.status === "suspended")).toBe(true);
  expect(d.version).toBe(2);
});

it("follows a hub that went away and came back on the same address, and gets the change made meanwhile", async () => {
  const m = testMember("follow-b", "3b1f0c64-5a1c-4c9a-9d6e-000000000002", 10);
  const hub = new HoldingDirectory([m.entry]);
  await hub.start();
  stop.push(() => hub.stop());
  const d = follower(hub);
  d.follow();
  expect(await until(async () => hub.held.size > 0)).toBe(true);
  await hub.stop(); // the poll in flight fails, the next ones are refused (ECONNREFUSED) and backed off
  hub.members = [];
  hub.version = 7; // the key was revoked while the hub was down
  await hub.start();
  expect(await until(async () => d.version === 7)).toBe(true);
  expect(await d.find(fingerprintOf(m))).toBeUndefined();
});

it("close() abandons the poll in flight at once", async () => {
  const m = testMember("follow-c", "3b1f0c64-5a1c-4c9a-9d6e-000000000003", 10);
  const hub = new HoldingDirectory([m.entry]);
  await hub.start();
  stop.push(() => hub.stop());
  const d = follower(hub, TTL_MS); // a poll that would otherwise be held for 10 minutes
  d.follow();
  expect(await until(async () => hub.held.size > 0)).toBe(true);
  await d.close();
  // The hub sees the connection go (its held poll is dropped), long before the poll's wait would end.
  expect(await until(async () => hub.held.size === 0)).toBe(true);
});
