/**
 * Who may read the ledger (ADR 0040, issue 15 point 2), through the running hub over HTTP on both backends.
 *
 * The attack that used to work: a lender tags its own customers — tags are the same for every member —
 * computes the audit log's subject commitments for them (v1: an unkeyed SHA-256 of a label and the tag),
 * reads leaves and receipts without authenticating, and maps member ids to names with the public member
 * directory: it learns which of its customers a competitor ran checks on. Here the competitor (lender-a)
 * looks up two of the attacker's (lender-b's) customers; the attacker then tries every read and every
 * commitment it can compute, and learns nothing. Witnesses and monitors keep what they need: checkpoints and
 * consistency proofs stay public.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { seededBytes, signRequest } from "@relink/core/testing";
import { fromBase64Url, toBase64Url, toHex } from "@relink/protocol";
import {
  base64Decode,
  decodeAuditEvent,
  formatVerifierKey,
  generateSignerKey,
  keyedCommitment,
  subjectLinkKey,
  verifierOf,
  verifyReceipt,
} from "@relink/tlog";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningHub } from "../src/hub.ts";
import {
  BACKENDS,
  hubFetch,
  onboardHubMember,
  signedTestConsent,
  startTestHub,
  suiteFor,
  trpcCall,
} from "./helpers.ts";

const T = (n: number) => sha256(new TextEncoder().encode(`ledger-access-subject-${n}`));
const enc = new TextEncoder();

for (const backend of BACKENDS) {
  suiteFor(backend)(`ledger read access over HTTP [${backend}]`, () => {
    let hub: RunningHub;
    let closeHub: (() => Promise<void>) | undefined;
    const logSigner = generateSignerKey("relink.test/ledger-access/v1", seededBytes(7000));
    const admin = seededBytes(7001)(32);
    const networkDpo = seededBytes(7002)(32);
    const holderIdentity = seededBytes(7003)(32);
    const keys = { a: seededBytes(7004)(32), b: seededBytes(7005)(32), bDpo: seededBytes(7006)(32) };
    const ids: Record<string, string> = {};
    let lookupIndex = 0;
    let lookupReceipt: { leaf: string; index: number };

    const send = (secret: Uint8Array | undefined, method: "GET" | "POST", path: string, body?: unknown) =>
      method === "POST"
        ? hubFetch(hub, secret, method, path, JSON.stringify(body), { "content-type": "application/json" })
        : hubFetch(hub, secret, method, path);
    const trpc = <T>(secret: Uint8Array, procedure: string, input?: unknown): Promise<T> =>
      trpcCall<T>(hub, secret, procedure, input);

    beforeAll(async () => {
      ({ hub, close: closeHub } = await startTestHub(backend, {
        signer: logSigner,
        network: {
          keyHolders: [
            {
              index: 1,
              url: "http://127.0.0.1:9",
              identityPublicKey: toBase64Url(ed25519.getPublicKey(holderIdentity)),
            },
          ],
          adminKeys: [toBase64Url(ed25519.getPublicKey(admin))],
          dpoKeys: [toBase64Url(ed25519.getPublicKey(networkDpo))],
        },
      }));
      for (const [slug, secret] of [
        ["lender-a", keys.a],
        ["lender-b", keys.b],
      ] as const) {
        ids[slug] = await onboardHubMember(hub, secret, { slug, capabilities: ["lender", "collector"] });
      }
      // The competitor registers consents for two people and looks them (and a third) up.
      await trpc(keys.a, "consent.register", {
        consents: [1, 2].map((n) =>
          signedTestConsent(keys.a, ids["lender-a"]!, {
            reference: `loan-${n}`,
            tag: T(n),
            evidence: `evidence-${n}`,
            caseId: `case-${n}`,
          }),
        ),
      });
      const r = await trpc<{ receipt: { leaf: string; index: number } }>(keys.a, "lookup.run", {
        epoch: 1,
        purpose: "debt_collection",
        tags: [1, 2, 3].map((n) => toBase64Url(T(n))),
        caseCommitment: toBase64Url(sha256(enc.encode("case-1"))),
      });
      lookupReceipt = r.receipt;
      lookupIndex = r.receipt.index;
      // The attacker's DPO key (so the attacker even holds its own member's commitment key).
      await trpc(admin, "admin.registerDpoKey", {
        slug: "lender-b",
        publicKey: toBase64Url(ed25519.getPublicKey(keys.bDpo)),
      });
    });

    afterAll(async () => {
      await closeHub?.();
    });

    it("refuses unauthenticated reads of leaves, receipts and the member directory (401)", async () => {
      for (const path of [`/log/leaf/${lookupIndex}`, `/log/receipt/${lookupIndex}`, "/log/leaf/0"]) {
        const res = await send(undefined, "GET", path);
        expect(res.status, path).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("BAD_SIGNATURE");
      }
      const dir = await send(undefined, "GET", "/trpc/network.memberDirectory");
      expect(dir.status).toBe(401);
      // A key nobody registered is refused as unknown, a forged signature as bad.
      const stranger = seededBytes(7999)(32);
      expect((await send(stranger, "GET", `/log/leaf/${lookupIndex}`)).status).toBe(401);
      const forged = signRequest(keys.a, { method: "GET", path: "/log/leaf/0", timestampMs: Date.now() });
      const bad = await fetch(`${hub.url}/log/leaf/1`, { headers: forged.headers });
      expect(bad.status).toBe(401);
    });

    it("keeps checkpoints and consistency proofs public: a witness needs nothing else", async () => {
      const cp = await send(undefined, "GET", "/log/checkpoint");
      expect(cp.status).toBe(200);
      const size = Number((await cp.text()).split("\n")[1]);
      expect(size).toBeGreaterThan(lookupIndex);
      expect((await send(undefined, "GET", `/log/proof/consistency?from=1&to=${size}`)).status).toBe(200);
      expect((await send(undefined, "GET", `/log/proof/inclusion?index=0&size=${size}`)).status).toBe(200);
    });

    it("the attack: a competitor's leaves stay closed, and its own customers' commitments match nothing", async () => {
      const cp = await (await send(undefined, "GET", "/log/checkpoint")).text();
      const size = Number(cp.split("\n")[1]);
      // 1. Scan every leaf and receipt with the attacker's own valid key: only its own leaves open.
      const readable: number[] = [];
      for (let i = 0; i < size; i++) {
        const leaf = await send(keys.b, "GET", `/log/leaf/${i}`);
        const receipt = await send(keys.b, "GET", `/log/receipt/${i}`);
        expect(receipt.status).toBe(leaf.status);
        if (leaf.status === 200) {
          const event = decodeAuditEvent(base64Decode(((await leaf.json()) as { leaf: string }).leaf)!);
          expect(event.member).toBe(ids["lender-b"]);
          readable.push(i);
        } else expect(leaf.status).toBe(404);
      }
      expect(readable.length).toBeGreaterThan(0);
      expect(readable).not.toContain(lookupIndex);
      // 1b. The paged re-hash route serves hashes to everyone, bytes only of leaves the reader may read.
      for (const who of [undefined, keys.b]) {
        const page = (await (await send(who, "GET", `/log/leaves?start=0&count=${size}`)).json()) as {
          leaves: { index: number; leaf?: string; servedHash: string }[];
        };
        expect(page.leaves).toHaveLength(size);
        const withBytes = page.leaves.filter((l) => l.leaf !== undefined).map((l) => Number(l.index));
        expect(withBytes).toEqual(who ? readable : []);
        for (const l of page.leaves) expect(base64Decode(l.servedHash)).toHaveLength(32);
      }
      // 2. The member directory is closed to members.
      expect((await send(keys.b, "GET", "/trpc/network.memberDirectory")).status).toBe(401);
      // 3. Even holding the competitor's leaf bytes (a leaked receipt, a database dump), the attacker's
      //    commitments for its own customers match none of the leaf's: neither the old unkeyed form nor
      //    anything under the commitment key its own DPO can obtain.
      const event = decodeAuditEvent(base64Decode(lookupReceipt.leaf)!);
      const inLeaf = new Set(event.subjectTagCommitments);
      expect(inLeaf.size).toBe(3);
      const own = await trpc<{ key: string }>(keys.bDpo, "dpo.commitmentKey");
      const nonce = Uint8Array.from(Buffer.from(event.subjectNonce!, "hex"));
      for (let n = 1; n <= 5; n++) {
        const unkeyed = sha256(new Uint8Array([...enc.encode("relink/audit/subject-tag/v1\n"), ...T(n)]));
        expect(inLeaf.has(toHex(unkeyed))).toBe(false);
        const underOwnKey = keyedCommitment(subjectLinkKey(fromBase64Url(own.key), T(n)), nonce);
        expect(inLeaf.has(toHex(underOwnKey))).toBe(false);
      }
      // Control: the commitments are there, and the competitor's link key (which only the hub can
      // derive, and discloses only to a DPO with the subject's request) finds them.
      const linkA = hub.core!.audit.linkKey(ids["lender-a"]!, T(1));
      expect(inLeaf.has(toHex(keyedCommitment(linkA, nonce)))).toBe(true);
    });

    it("lets the member read its own leaves and receipts, and the network's administrators and DPOs all", async () => {
      const own = await send(keys.a, "GET", `/log/receipt/${lookupIndex}`);
      expect(own.status).toBe(200);
      const v = verifyReceipt(await own.json(), {
        logKey: formatVerifierKey(verifierOf(logSigner)),
        witnesses: [],
        k: 0,
      });
      expect(v.ok && v.index).toBe(BigInt(lookupIndex));
      for (const secret of [admin, networkDpo]) {
        expect((await send(secret, "GET", `/log/leaf/${lookupIndex}`)).status).toBe(200);
      }
      const dir = await trpc<{ members: unknown[] }>(admin, "network.memberDirectory");
      expect(dir.members).toHaveLength(2);
      const viaHolder = await trpc<{ members: unknown[] }>(holderIdentity, "network.memberDirectory");
      expect(viaHolder.members).toHaveLength(2);
    });
  });
}
