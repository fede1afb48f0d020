/**
 * The DKG seen from a peer: the test itself plays holder 2 of a 2-of-2 network against a real holder-1
 * process (its own psi dkgRound1/2/3 and a tiny node:http server at holder 2's URL), so it can send
 * tampered or inconsistent messages in the middle of a ceremony. Also: a peer that never answers, and a
 * restart under a changed config.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBase64Url, toBase64Url } from "@relink/protocol";
import {
  blindIdentifiers,
  combineResponses,
  dkgRound1,
  dkgRound2,
  dkgRound3,
  evaluateAsHolder,
} from "@relink/psi";
import { afterAll, describe, expect, it } from "vitest";
import { verifyRound1, verifyRound2 } from "../src/ceremony.ts";
import { parseNetworkConfig } from "../src/config.ts";
import { sealRound2, signRound1, signSealedRound2, transcriptHash } from "../src/dkg-wire.ts";
import { generateIdentity, type HolderIdentity, publicIdentity } from "../src/identity.ts";
import {
  cli,
  freePort,
  killAll,
  postJson,
  signHeaders,
  startDirectory,
  startHolder,
  testMember,
} from "./helpers.ts";

const NETWORK = "relink-dkg-test";
const roots: string[] = [];
const servers: Server[] = [];

afterAll(async () => {
  await killAll();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A fake peer: records what holder 1 posts to it and accepts everything. */
async function fakePeer(): Promise<{
  url: string;
  inbox: Map<string, unknown[]>;
  next(path: string): Promise<unknown>;
}> {
  const inbox = new Map<string, unknown[]>();
  const waiting = new Map<string, (b: unknown) => void>();
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const c of req) text += c;
    const list = inbox.get(req.url!) ?? [];
    list.push(JSON.parse(text));
    inbox.set(req.url!, list);
    waiting.get(req.url!)?.(list[0]);
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"accepted":true}');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inbox,
    next: (path) =>
      new Promise((resolve) => {
        const have = inbox.get(path);
        if (have?.length) resolve(have[0]);
        else waiting.set(path, resolve);
      }),
  };
}

interface Setup {
  root: string;
  networkPath: string;
  dataDir: string;
  holder1Url: string;
  me: HolderIdentity;
  peer: Awaited<ReturnType<typeof fakePeer>>;
  config: ReturnType<typeof parseNetworkConfig>;
}

async function setup(extraHolders: { index: number; url: string }[] = []): Promise<Setup> {
  const root = mkdtempSync(join(tmpdir(), "relink-kh-dkg-"));
  roots.push(root);
  const dataDir = join(root, "holder-1");
  const init = cli(["init", "--data-dir", dataDir, "--index", "1"]);
  expect(init.status, init.stderr).toBe(0);
  const holder1Url = `http://127.0.0.1:${await freePort()}`;
  const me = generateIdentity(2);
  const peer = await fakePeer();
  const holders = [
    { ...JSON.parse(init.stdout), url: holder1Url },
    { ...publicIdentity(me), url: peer.url },
    ...extraHolders.map((h) => ({ ...publicIdentity(generateIdentity(h.index)), url: h.url })),
  ];
  const json = { networkId: NETWORK, epoch: 1, threshold: 2, holders };
  const networkPath = join(root, "network.json");
  writeFileSync(networkPath, JSON.stringify(json));
  return { root, networkPath, dataDir, holder1Url, me, peer, config: parseNetworkConfig(json) };
}

function serveArgs(s: Setup, hub: string, timeout = 30): string[] {
  return [
    "--data-dir",
    s.dataDir,
    "--network",
    s.networkPath,
    "--port",
    new URL(s.holder1Url).port,
    "--hub",
    hub,
    "--workers",
    "1",
    "--dkg-timeout",
    String(timeout),
  ];
}

const post = (url: string, body: unknown) =>
  postJson(url, JSON.stringify(body), { "content-type": "application/json" });

describe("DKG against a real holder process", () => {
  it("refuses a tampered sealed share mid-ceremony, completes with the genuine one, and both sides agree", async () => {
    const member = testMember("alice-bank", "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a11", 100);
    const directory = await startDirectory([member.entry]);
    const s = await setup();
    const holder = await startHolder(serveArgs(s, directory.url));
    // During the ceremony the holder answers health checks and refuses to evaluate.
    expect(await (await fetch(`${s.holder1Url}/healthz`)).json()).toMatchObject({ status: "dkg" });
    const early = await post(`${s.holder1Url}/v1/evaluate`, {});
    expect([early.status, early.json.error.code]).toEqual([503, "UNAVAILABLE"]);

    const params = { networkId: NETWORK, epoch: 1, threshold: 2, holders: 2 };
    const r1 = dkgRound1(params, 2);
    const mine = signRound1(r1.broadcast, s.config.digest, s.me.identitySecretKey);
    expect((await post(`${s.holder1Url}/v1/dkg/round1`, mine)).status).toBe(200);
    expect((await post(`${s.holder1Url}/v1/dkg/round1`, mine)).status).toBe(200); // a retry is idempotent
    const b1 = verifyRound1(s.config, 2, await s.peer.next("/v1/dkg/round1"));
    // Equivocation: a different broadcast from the same holder is refused.
    const other = signRound1(dkgRound1(params, 2).broadcast, s.config.digest, s.me.identitySecretKey);
    expect((await post(`${s.holder1Url}/v1/dkg/round1`, other)).json.error.code).toBe("CONFLICT");

    const broadcasts = [b1, r1.broadcast];
    const r2 = dkgRound2(r1.state, broadcasts);
    const header = {
      networkId: NETWORK,
      epoch: 1,
      configDigest: s.config.digest,
      from: 2,
      to: 1,
      transcript: transcriptHash(s.config, s.config.digest, broadcasts),
    };
    const genuine = sealRound2(
      header,
      r2.messages[0]!.share,
      s.config.holders[0]!.encryptionPublicKey,
      s.me.identitySecretKey,
    );
    const ct = fromBase64Url(genuine.ciphertext);
    ct[31]! ^= 1;
    const tampered = signSealedRound2(
      header,
      { encapsulatedKey: fromBase64Url(genuine.encapsulatedKey), ciphertext: ct },
      s.me.identitySecretKey,
    );
    const refused = await post(`${s.holder1Url}/v1/dkg/round2`, tampered);
    expect([refused.status, refused.json.error.code]).toEqual([400, "BAD_INPUT"]);
    const badSig = { ...genuine, signature: toBase64Url(new Uint8Array(64).fill(9)) };
    expect((await post(`${s.holder1Url}/v1/dkg/round2`, badSig)).json.error.code).toBe("BAD_SIGNATURE");
    expect((await post(`${s.holder1Url}/v1/dkg/round2`, genuine)).status).toBe(200);

    const theirs = verifyRound2(s.config, s.me, await s.peer.next("/v1/dkg/round2"));
    expect(theirs.transcript).toEqual(header.transcript);
    const result = dkgRound3(r2.state, broadcasts, [theirs.message]);
    const ready = await holder.ready;
    expect(ready["dkg"]).toBe(true);
    const info = await (await fetch(`${s.holder1Url}/v1/info`)).json();
    expect(info.groupPublicKey).toBe(toBase64Url(result.publicKeys.groupPublicKey));
    expect(info.publicShare).toBe(toBase64Url(result.publicKeys.publicShares.get(1)!));

    // The shares interoperate: holder 1 (process) + holder 2 (this test) evaluate the same PRF.
    const batch = blindIdentifiers(result.publicKeys, ["cn-mobile:+8613900139000"]);
    const text = JSON.stringify({
      networkId: NETWORK,
      epoch: 1,
      blindedElements: batch.request.blindedElements.map(toBase64Url),
    });
    const r = await postJson(
      `${s.holder1Url}/v1/evaluate`,
      text,
      signHeaders(member.secretKey, "POST", "/v1/evaluate", text),
    );
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const fromProcess = {
      ...r.json,
      evaluatedElements: r.json.evaluatedElements.map(fromBase64Url),
      proof: fromBase64Url(r.json.proof),
    };
    const out = combineResponses(result.publicKeys, batch, [
      fromProcess,
      evaluateAsHolder(result.key, batch.request),
    ]);
    expect(out).toHaveLength(1);

    await holder.stop();
    await directory.close();

    // Restarting under a config with other holder keys is refused: the stored key belongs to the old one.
    const changed = JSON.parse(readFileSync(s.networkPath, "utf8"));
    changed.holders[1] = { ...publicIdentity(generateIdentity(2)), url: s.peer.url };
    writeFileSync(s.networkPath, JSON.stringify(changed));
    const again = await startHolder(serveArgs(s, "http://127.0.0.1:9")).catch((e: Error) => e);
    expect(String(again)).toMatch(/different network config/);
  });

  it("aborts when a peer saw a different round-1 transcript (equivocation is detected)", async () => {
    const s = await setup();
    const holder = await startHolder(serveArgs(s, "http://127.0.0.1:9"));
    const params = { networkId: NETWORK, epoch: 1, threshold: 2, holders: 2 };
    const r1 = dkgRound1(params, 2);
    await post(
      `${s.holder1Url}/v1/dkg/round1`,
      signRound1(r1.broadcast, s.config.digest, s.me.identitySecretKey),
    );
    const b1 = verifyRound1(s.config, 2, await s.peer.next("/v1/dkg/round1"));
    const r2 = dkgRound2(r1.state, [b1, r1.broadcast]);
    const wrongView = {
      networkId: NETWORK,
      epoch: 1,
      configDigest: s.config.digest,
      from: 2,
      to: 1,
      transcript: new Uint8Array(32).fill(1),
    };
    const msg = sealRound2(
      wrongView,
      r2.messages[0]!.share,
      s.config.holders[0]!.encryptionPublicKey,
      s.me.identitySecretKey,
    );
    expect((await post(`${s.holder1Url}/v1/dkg/round2`, msg)).status).toBe(200);
    expect(await holder.exited).toBe(1);
    expect(holder.output()).toMatch(/holder 2 saw a different set of round-1 broadcasts/);
    await expect(holder.ready).rejects.toThrow();
  });

  it("fails with a clear error when a peer never answers, refusing forged messages meanwhile", async () => {
    const absent = `http://127.0.0.1:${await freePort()}`;
    const s = await setup([{ index: 3, url: absent }]);
    const holder = await startHolder(serveArgs(s, "http://127.0.0.1:9", 3));
    const forged = signRound1(
      dkgRound1({ networkId: NETWORK, epoch: 1, threshold: 2, holders: 3 }, 3).broadcast,
      s.config.digest,
      s.me.identitySecretKey, // holder 2's key, claiming to be holder 3
    );
    const r = await post(`${s.holder1Url}/v1/dkg/round1`, forged);
    expect([r.status, r.json.error.code]).toEqual([401, "BAD_SIGNATURE"]);
    expect((await post(`${s.holder1Url}/v1/dkg/round1`, { hello: 1 })).json.error.code).toBe("BAD_INPUT");
    expect(await holder.exited).toBe(1);
    expect(holder.output()).toContain(`holder 3 (${absent}) never accepted our round-1 broadcast within 3 s`);
  });

  it("refuses to serve with an identity that does not match the config", async () => {
    const s = await setup();
    const other = join(s.root, "other");
    expect(cli(["init", "--data-dir", other, "--index", "1"]).status).toBe(0);
    const r = cli(["serve", ...serveArgs(s, "http://127.0.0.1:9").slice(2), "--data-dir", other]);
    expect(r.status).toBe(1); // a failure, not a usage error
    expect(r.stderr).toMatch(/other public keys for holder 1/);
    expect(cli(["init", "--data-dir", other, "--index", "1"]).stderr).toMatch(/already exists/);
  });
});
