/**
 * Key holders follow the member directory by long poll (ADR 0038), through the running hub over HTTP on both
 * backends: a poll naming the current version is held until a commit changes a member or a key, then answers
 * with the new version and directory; a stale version is answered at once; an unchanged directory is answered
 * after the wait (cut to the hub's bound) with the same version; closing the hub releases a waiting poll. The
 * read stays limited to the network's readers (ADR 0040).
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { suspendMember } from "@relink/core";
import { seededBytes } from "@relink/core/testing";
import { type MemberDirectoryEntry, toBase64Url } from "@relink/protocol";
import { SERVER_KEEP_ALIVE_MS } from "@relink/protocol/http";
import { generateSignerKey } from "@relink/tlog";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningHub } from "../src/hub.ts";
import { BACKENDS, hubFetch, onboardHubMember, startTestHub, suiteFor } from "./helpers.ts";

/** A wait far longer than any answer the hub should need: a poll that runs into it shows a missed change. */
const LONG_WAIT_MS = 60_000;

interface Directory {
  version: number;
  members: MemberDirectoryEntry[];
}

for (const backend of BACKENDS) {
  suiteFor(backend)(`member directory long poll [${backend}]`, () => {
    let hub: RunningHub;
    let closeHub: (() => Promise<void>) | undefined;
    const holder = seededBytes(3801)(32);
    const member = seededBytes(3802)(32);

    /** `network.memberDirectory` read by `secret`, with the long-poll input when given. */
    async function read(
      secret: Uint8Array,
      input?: { knownVersion: number; waitMs: number },
    ): Promise<{ status: number; data?: Directory; code?: string }> {
      const path = `/trpc/network.memberDirectory${input ? `?input=${encodeURIComponent(JSON.stringify(input))}` : ""}`;
      const res = await hubFetch(hub, secret, "GET", path);
      const json = (await res.json()) as {
        result?: { data: Directory };
        error?: { data?: { relink?: { code: string } } };
      };
      return {
        status: res.status,
        ...(json.result ? { data: json.result.data } : {}),
        ...(json.error ? { code: json.error.data?.relink?.code } : {}),
      };
    }

    beforeAll(async () => {
      ({ hub, close: closeHub } = await startTestHub(backend, {
        signer: generateSignerKey("relink.test/directory-follow/v1", seededBytes(3800)),
        network: {
          keyHolders: [
            {
              index: 1,
              url: "http://127.0.0.1:9",
              identityPublicKey: toBase64Url(ed25519.getPublicKey(holder)),
            },
          ],
        },
        directoryWatch: { pollMs: 50, maxWaitMs: LONG_WAIT_MS },
      }));
      await onboardHubMember(hub, member, { slug: "follow-bank", capabilities: ["lender"] });
    });

    afterAll(async () => {
      await closeHub?.();
    });

    it("holds a poll at the current version until a suspension commits, then answers with it", async () => {
      const now = (await read(holder)).data!;
      expect(now.members.find((m) => m.slug === "follow-bank")?.status).toBe("active");
      const poll = read(holder, { knownVersion: now.version, waitMs: LONG_WAIT_MS });
      // The poll is held: the watcher has a waiter before anything changed.
      while (hub.core!.memberDirectoryWatch!.waiting === 0) await new Promise((r) => setTimeout(r, 10));
      await suspendMember(hub.core!, "follow-bank", "directory follow test");
      const answer = await poll;
      expect(answer.status).toBe(200);
      expect(answer.data!.version).toBeGreaterThan(now.version);
      expect(answer.data!.members.find((m) => m.slug === "follow-bank")?.status).toBe("suspended");
    });

    it("answers a stale version at once, and an unchanged one after the wait with the same version", async () => {
      const now = (await read(holder)).data!;
      const stale = await read(holder, { knownVersion: now.version - 1, waitMs: LONG_WAIT_MS });
      expect(stale.data!.version).toBe(now.version);
      const unchanged = await read(holder, { knownVersion: now.version, waitMs: 100 });
      expect(unchanged.data!.version).toBe(now.version);
      expect(unchanged.data!.members).toEqual(now.members);
    });

    it("stays closed to members, long poll or not (ADR 0040), and refuses a malformed wait", async () => {
      const now = (await read(holder)).data!;
      const asMember = await read(member, { knownVersion: now.version, waitMs: 100 });
      expect(asMember.status).toBe(401);
      const bad = await read(holder, { knownVersion: now.version, waitMs: -1 });
      expect(bad.status).toBe(400);
      expect(bad.code).toBe("BAD_INPUT");
    });

    it("releases a waiting poll when the hub closes", async () => {
      const now = (await read(holder)).data!;
      const poll = read(holder, { knownVersion: now.version, waitMs: LONG_WAIT_MS });
      while (hub.core!.memberDirectoryWatch!.waiting === 0) await new Promise((r) => setTimeout(r, 10));
      const closing = closeHub!();
      closeHub = undefined;
      const answer = await poll;
      const answeredAt = Date.now();
      expect(answer.data!.version).toBe(now.version);
      await closing;
      // The released poll's keep-alive connection does not hold close() up for the keep-alive period.
      expect(Date.now() - answeredAt).toBeLessThan(SERVER_KEEP_ALIVE_MS / 2);
    });
  });
}
