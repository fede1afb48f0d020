/**
 * End to end with real processes: three `relink-keyholder serve` processes (2-of-3) run the DKG over
 * HTTP, then serve signed evaluations checked with psi's client functions; attacks on the evaluation and
 * DKG endpoints each get a typed error; a killed holder leaves two that still serve; a restarted holder
 * reuses its stored key, quota usage and nonces.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  fromBase64Url,
  hubAudience,
  keyHolderAudience,
  MAX_EVALUATION_BATCH,
  SIGNATURE_HEADERS,
  toBase64Url,
} from "@relink/protocol";
import {
  blindIdentifiers,
  type ClientBatch,
  combineResponses,
  finishCombinedCheck,
  type HolderEvaluation,
  type HolderResponse,
  InvalidProofError,
  startCombinedCheck,
  type ThresholdPublicKeys,
} from "@relink/psi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseNetworkConfig } from "../src/config.ts";
import { sealRound2, signRound1, signSealedRound2 } from "../src/dkg-wire.ts";
import { loadIdentity } from "../src/identity.ts";
import {
  cli,
  type DirectoryStandIn,
  freePort,
  type HolderProcess,
  killAll,
  postJson,
  signHeaders,
  startDirectory,
  startHolder,
  type TestMember,
  testMember,
} from "./helpers.ts";

const NETWORK = "relink-test";
const aud = (holder: number) => keyHolderAudience(NETWORK, holder);
const EPOCH = 3;
const root = mkdtempSync(join(tmpdir(), "relink-keyholders-"));
const dataDirs = [1, 2, 3].map((i) => join(root, `holder-${i}`));
const networkPath = join(root, "network.json");

const alice = testMember("alice-bank", "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a01", 10_000);
const suspended = testMember("suspended-bank", "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a02", 10_000, "suspended");
const quotaBound = testMember("small-lender", "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a03", 5);
const stranger = testMember("stranger", "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a04", 10_000);
/** A collector the hub allows 50,000 evaluations a day (its default): the holders' own cap decides. */
const fisher = testMember("fishing-collector", "0b6a1e9c-6b0e-4c53-9b53-6f3c1c2c7a05", 50_000);
const capsPath = join(root, "evaluation-caps.json");
/** The holders' operator caps: 6 a day for any member, except the two the tests use heavily. */
const CAPS = { default: 6, members: { "alice-bank": 100_000, stranger: 100_000 } };

let directory: DirectoryStandIn;
const holders = new Map<number, HolderProcess>();
const urls = new Map<number, string>();
let keys: ThresholdPublicKeys;

const IDENTIFIERS = ["cn-mobile:+8613800138000", "cn-id:11010519491231002X", "email:zhang.wei@example.cn"];

function serveArgs(i: number): string[] {
  const port = new URL(urls.get(i)!).port;
  return [
    "--data-dir",
    dataDirs[i - 1]!,
    "--network",
    networkPath,
    "--port",
    port,
    "--hub",
    directory.url,
    "--workers",
    "1",
    "--dkg-timeout",
    "60",
    "--directory-ttl",
    "60",
    "--directory-refetch",
    "1",
    "--evaluation-caps",
    capsPath,
  ];
}

function body(batch: ClientBatch, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    networkId: batch.request.networkId,
    epoch: batch.request.epoch,
    blindedElements: batch.request.blindedElements.map(toBase64Url),
    ...over,
  });
}

async function evaluate(holder: number, member: TestMember, text: string, headers?: Record<string, string>) {
  const url = `${urls.get(holder)}/v1/evaluate`;
  return postJson(
    url,
    text,
    headers ?? signHeaders(member.secretKey, aud(holder), "POST", "/v1/evaluate", text),
  );
}

async function ask(holder: number, batch: ClientBatch): Promise<HolderResponse> {
  const r = await evaluate(holder, alice, body(batch));
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return {
    networkId: r.json.networkId,
    epoch: r.json.epoch,
    holder: r.json.holder,
    evaluatedElements: r.json.evaluatedElements.map(fromBase64Url),
    proof: fromBase64Url(r.json.proof),
  };
}

async function info(holder: number) {
  return (await fetch(`${urls.get(holder)}/v1/info`)).json();
}

beforeAll(async () => {
  directory = await startDirectory([alice.entry, suspended.entry, quotaBound.entry, fisher.entry]);
  writeFileSync(capsPath, JSON.stringify(CAPS));
  const entries = [];
  for (const i of [1, 2, 3]) {
    const r = cli(["init", "--data-dir", dataDirs[i - 1]!, "--index", String(i)]);
    expect(r.status, r.stderr).toBe(0);
    const url = `http://127.0.0.1:${await freePort()}`;
    urls.set(i, url);
    entries.push({ ...JSON.parse(r.stdout), url });
  }
  writeFileSync(
    networkPath,
    JSON.stringify({ networkId: NETWORK, epoch: EPOCH, threshold: 2, holders: entries }),
  );
  // All three start at once; each pushes its DKG messages to the others until they are up.
  const started = await Promise.all([1, 2, 3].map((i) => startHolder(serveArgs(i))));
  for (const [k, h] of started.entries()) holders.set(k + 1, h);
  await Promise.all(started.map((h) => h.ready));
  const infos = await Promise.all([1, 2, 3].map(info));
  keys = {
    networkId: NETWORK,
    epoch: EPOCH,
    threshold: 2,
    groupPublicKey: fromBase64Url(infos[0].groupPublicKey),
    publicShares: new Map(infos.map((x) => [x.holder as number, fromBase64Url(x.publicShare)])),
  };
});

afterAll(async () => {
  await killAll();
  await directory?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("DKG among three holder processes", () => {
  it("gives every holder the same group public key and every holder's public share", async () => {
    const infos = await Promise.all([1, 2, 3].map(info));
    expect(new Set(infos.map((x) => x.groupPublicKey)).size).toBe(1);
    expect(infos.map((x) => x.holder)).toEqual([1, 2, 3]);
    expect(new Set(infos.map((x) => x.publicShare)).size).toBe(3);
    const all = await Promise.all(
      [1, 2, 3].map(async (i) => (await fetch(`${urls.get(i)}/v1/public-keys`)).json()),
    );
    expect(all[1]).toEqual(all[0]);
    expect(all[2]).toEqual(all[0]);
    expect(all[0].publicShares.map((s: { publicShare: string }) => s.publicShare)).toEqual(
      infos.map((x) => x.publicShare),
    );
    for (const h of holders.values()) expect(h.output()).toContain('"dkg":true');
  });

  it("stores the share 0600 and the public keys beside it", () => {
    for (const d of dataDirs) {
      const dir = join(d, "epochs", NETWORK, String(EPOCH));
      expect(statSync(join(dir, "share.json")).mode & 0o777).toBe(0o600);
      expect(statSync(join(d, "identity.json")).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(join(dir, "public-keys.json"), "utf8")).threshold).toBe(2);
    }
  });
});

describe("evaluation", () => {
  it("combines any 2 of the 3 holders to the same OPRF outputs", async () => {
    const batch = blindIdentifiers(keys, IDENTIFIERS);
    const r = await Promise.all([1, 2, 3].map((i) => ask(i, batch)));
    const pairs = [
      [r[0]!, r[1]!],
      [r[0]!, r[2]!],
      [r[1]!, r[2]!],
    ];
    const outputs = pairs.map((p) => combineResponses(keys, batch, p).map(toBase64Url));
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
    expect(new Set(outputs[0]).size).toBe(IDENTIFIERS.length);
    // A PRF: fresh blinds give the same outputs.
    const again = blindIdentifiers(keys, IDENTIFIERS);
    const r2 = await Promise.all([3, 1].map((i) => ask(i, again)));
    expect(combineResponses(keys, again, r2).map(toBase64Url)).toEqual(outputs[0]);
  });

  it('proof "none" answers evaluations only; the combined check (ADR 0013) gives the same outputs and names a cheater', async () => {
    const batch = blindIdentifiers(keys, IDENTIFIERS);
    const round1 = await Promise.all(
      [2, 3].map(async (i) => {
        const r = await evaluate(i, alice, body(batch, { proof: "none" }));
        expect(r.status, JSON.stringify(r.json)).toBe(200);
        expect(r.json.proof).toBeUndefined();
        return {
          networkId: r.json.networkId,
          epoch: r.json.epoch,
          holder: r.json.holder,
          evaluatedElements: r.json.evaluatedElements.map(fromBase64Url),
        } as HolderEvaluation;
      }),
    );
    const check = startCombinedCheck(keys, batch, round1);
    const round2 = await Promise.all([2, 3].map((i) => ask(i, { ...batch, request: check.request })));
    const proven = await Promise.all([2, 3].map((i) => ask(i, batch)));
    expect(finishCombinedCheck(keys, check, round2).map(toBase64Url)).toEqual(
      combineResponses(keys, batch, proven).map(toBase64Url),
    );
    const forged = round1.map((e) =>
      e.holder === 3 ? { ...e, evaluatedElements: [...e.evaluatedElements].reverse() } : e,
    );
    const badCheck = startCombinedCheck(keys, batch, forged);
    const badRound2 = await Promise.all([2, 3].map((i) => ask(i, { ...batch, request: badCheck.request })));
    expect(() => finishCombinedCheck(keys, badCheck, badRound2)).toThrow(InvalidProofError);
  });

  it("logs member slugs and counts, never blinded elements", async () => {
    const batch = blindIdentifiers(keys, IDENTIFIERS);
    await ask(1, batch);
    const out = holders.get(1)!.output();
    expect(out).toMatch(/"event":"evaluate".*"member":"alice-bank".*"count":3/);
    for (const b of batch.request.blindedElements) expect(out).not.toContain(toBase64Url(b));
  });

  it("shows per-member per-day usage: member ids and counts only", async () => {
    const u = await (await fetch(`${urls.get(1)}/v1/usage`)).json();
    const row = u.usage.find((x: { memberId: string }) => x.memberId === alice.entry.memberId);
    expect(row.evaluated).toBeGreaterThanOrEqual(6);
    expect(Object.keys(row).sort()).toEqual(["day", "evaluated", "memberId", "refused"]);
    expect(JSON.stringify(u)).not.toContain("alice-bank");
  });
});

describe("attacks on /v1/evaluate each get a typed error", () => {
  const good = () => body(blindIdentifiers(keys, IDENTIFIERS.slice(0, 1)));

  it("unsigned request → BAD_SIGNATURE", async () => {
    const r = await evaluate(1, alice, good(), { "content-type": "application/json" });
    expect([r.status, r.json.error.code]).toEqual([401, "BAD_SIGNATURE"]);
  });

  it("signature over another body → BAD_SIGNATURE", async () => {
    const headers = signHeaders(alice.secretKey, aud(1), "POST", "/v1/evaluate", good());
    const r = await evaluate(1, alice, good(), headers);
    expect([r.status, r.json.error.code]).toEqual([401, "BAD_SIGNATURE"]);
  });

  it("signature for another path → BAD_SIGNATURE", async () => {
    const text = good();
    const r = await evaluate(
      1,
      alice,
      text,
      signHeaders(alice.secretKey, aud(1), "POST", "/trpc/lookup.query", text),
    );
    expect(r.json.error.code).toBe("BAD_SIGNATURE");
  });

  it("a request signed for holder 2, replayed to holder 1 → BAD_SIGNATURE (audience bound)", async () => {
    const text = good();
    const forTwo = signHeaders(alice.secretKey, aud(2), "POST", "/v1/evaluate", text);
    const r = await evaluate(1, alice, text, forTwo);
    expect([r.status, r.json.error.code]).toEqual([401, "BAD_SIGNATURE"]);
    expect(r.json.error.message).toMatch(/signed for relink-keyholder\/relink-test\/2, not for this service/);
    // Without the informational header the signature itself still refuses it …
    const { [SIGNATURE_HEADERS.audience]: _dropped, ...bare } = signHeaders(
      alice.secretKey,
      aud(2),
      "POST",
      "/v1/evaluate",
      text,
    );
    const stripped = await evaluate(1, alice, text, bare);
    expect([stripped.status, stripped.json.error.code]).toEqual([401, "BAD_SIGNATURE"]);
    // … while holder 2, the intended audience, accepts the same signed request.
    expect((await evaluate(2, alice, text, bare)).status).toBe(200);
  });

  it("a request signed for the hub, replayed to a key holder → BAD_SIGNATURE", async () => {
    const text = good();
    const { [SIGNATURE_HEADERS.audience]: _d, ...forHub } = signHeaders(
      alice.secretKey,
      hubAudience(NETWORK),
      "POST",
      "/v1/evaluate",
      text,
    );
    const r = await evaluate(1, alice, text, forHub);
    expect([r.status, r.json.error.code]).toEqual([401, "BAD_SIGNATURE"]);
  });

  it("stale timestamp → STALE_REQUEST", async () => {
    const text = good();
    const headers = signHeaders(alice.secretKey, aud(1), "POST", "/v1/evaluate", text, {
      timestampMs: Date.now() - 6 * 60_000,
    });
    const r = await evaluate(1, alice, text, headers);
    expect([r.status, r.json.error.code]).toEqual([401, "STALE_REQUEST"]);
  });

  it("replayed nonce → REPLAYED_REQUEST", async () => {
    const text = good();
    const headers = signHeaders(alice.secretKey, aud(2), "POST", "/v1/evaluate", text);
    expect((await evaluate(2, alice, text, headers)).status).toBe(200);
    const r = await evaluate(2, alice, text, headers);
    expect([r.status, r.json.error.code]).toEqual([401, "REPLAYED_REQUEST"]);
  });

  it("unknown key → UNKNOWN_KEY, after at most one directory refetch", async () => {
    const before = directory.fetches;
    const r = await evaluate(1, stranger, good());
    expect([r.status, r.json.error.code]).toEqual([401, "UNKNOWN_KEY"]);
    const r2 = await evaluate(1, stranger, good());
    expect(r2.json.error.code).toBe("UNKNOWN_KEY");
    expect(directory.fetches - before).toBeLessThanOrEqual(1);
  });

  it("a member added at the hub is found by a refetch", async () => {
    directory.members = [...directory.members, stranger.entry];
    await new Promise((r) => setTimeout(r, 1100));
    expect((await evaluate(1, stranger, good())).status).toBe(200);
  });

  it("suspended member → MEMBER_SUSPENDED", async () => {
    const r = await evaluate(1, suspended, good());
    expect([r.status, r.json.error.code]).toEqual([403, "MEMBER_SUSPENDED"]);
  });

  it("quota exceeded → QUOTA_EXCEEDED with retry-after, counted per blinded element", async () => {
    const three = body(blindIdentifiers(keys, IDENTIFIERS));
    expect((await evaluate(3, quotaBound, three)).status).toBe(200);
    const r = await evaluate(3, quotaBound, three);
    expect([r.status, r.json.error.code]).toEqual([429, "QUOTA_EXCEEDED"]);
    expect(r.json.error.retryAfterSeconds).toBeGreaterThan(0);
    expect(r.json.error.retryAfterSeconds).toBeLessThanOrEqual(86_400);
    expect(r.headers.get("retry-after")).toBe(String(r.json.error.retryAfterSeconds));
    const two = body(blindIdentifiers(keys, IDENTIFIERS.slice(0, 2)));
    expect((await evaluate(3, quotaBound, two)).status).toBe(200);
    expect((await evaluate(3, quotaBound, good())).json.error.code).toBe("QUOTA_EXCEEDED");
    // Each holder meters on its own: holder 1 has seen nothing of this member yet.
    expect((await evaluate(1, quotaBound, two)).status).toBe(200);
  });

  it("fishing: a member the hub allows 50,000 evaluations a day is stopped at the holder's own cap", async () => {
    // The attack of issue 15.3 (a collector tagging 11,000 guessed identifiers): each holder meters against
    // min(hub quota, its operator's cap), so the seventh element of the day is refused at every holder.
    const three = body(blindIdentifiers(keys, IDENTIFIERS));
    for (const holder of [1, 2]) {
      expect((await evaluate(holder, fisher, three)).status).toBe(200);
      expect((await evaluate(holder, fisher, three)).status).toBe(200);
      const r = await evaluate(holder, fisher, body(blindIdentifiers(keys, IDENTIFIERS.slice(0, 1))));
      expect([r.status, r.json.error.code]).toEqual([429, "QUOTA_EXCEEDED"]);
      expect(r.json.error.message).toMatch(/quota of 6/);
    }
  });

  it("wrong epoch or network → WRONG_EPOCH", async () => {
    const batch = blindIdentifiers(keys, IDENTIFIERS.slice(0, 1));
    const r = await evaluate(1, alice, body(batch, { epoch: EPOCH + 1 }));
    expect([r.status, r.json.error.code]).toEqual([412, "WRONG_EPOCH"]);
    expect((await evaluate(1, alice, body(batch, { networkId: "other-net" }))).json.error.code).toBe(
      "WRONG_EPOCH",
    );
  });

  it("identity point, non-canonical point and malformed base64 → BAD_INPUT naming the index", async () => {
    const batch = blindIdentifiers(keys, IDENTIFIERS.slice(0, 2));
    const b64 = batch.request.blindedElements.map(toBase64Url);
    const cases: [string[], string][] = [
      [[b64[0]!, toBase64Url(new Uint8Array(32))], "blindedElements[1]"],
      [[toBase64Url(new Uint8Array(32).fill(0xff)), b64[1]!], "blindedElements[0]"],
      [[b64[0]!, "not*base64"], "blindedElements[1]"],
      [[b64[0]!, b64[1]!.slice(0, 40)], "blindedElements[1]"],
    ];
    for (const [elements, field] of cases) {
      const r = await evaluate(1, alice, body(batch, { blindedElements: elements }));
      expect([r.status, r.json.error.code, r.json.error.field], JSON.stringify(r.json)).toEqual([
        400,
        "BAD_INPUT",
        field,
      ]);
      expect(r.json.error.message).toContain(field);
    }
  });

  it("empty, oversize batch, non-JSON and oversize bodies → BAD_INPUT / PAYLOAD_TOO_LARGE", async () => {
    const batch = blindIdentifiers(keys, IDENTIFIERS.slice(0, 1));
    const one = toBase64Url(batch.request.blindedElements[0]!);
    expect((await evaluate(1, alice, body(batch, { blindedElements: [] }))).json.error.code).toBe(
      "BAD_INPUT",
    );
    const many = body(batch, { blindedElements: Array(MAX_EVALUATION_BATCH + 1).fill(one) });
    expect((await evaluate(1, alice, many)).json.error).toMatchObject({
      code: "BAD_INPUT",
      field: "blindedElements",
    });
    expect((await evaluate(1, alice, "{not json")).json.error.code).toBe("BAD_INPUT");
    const huge = body(batch, { padding: "x".repeat(2 * 1024 * 1024) });
    const r = await evaluate(1, alice, huge);
    expect([r.status, r.json.error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  });

  it("unknown routes and methods → NOT_FOUND; every holder is still up", async () => {
    expect((await fetch(`${urls.get(1)}/v1/nope`)).status).toBe(404);
    expect((await fetch(`${urls.get(1)}/v1/evaluate`)).status).toBe(405);
    for (const i of [1, 2, 3]) {
      expect(await (await fetch(`${urls.get(i)}/healthz`)).json()).toMatchObject({ status: "ok", holder: i });
    }
  });
});

describe("attacks on the DKG endpoints", () => {
  const config = () => parseNetworkConfig(JSON.parse(readFileSync(networkPath, "utf8")));

  it("refuses a round-1 broadcast with a bad signature", async () => {
    const c = config();
    const impostor = loadIdentity(dataDirs[2]!); // holder 3's key, claiming to be holder 2
    const wire = signRound1(
      {
        networkId: NETWORK,
        epoch: EPOCH,
        from: 2,
        commitment: [keys.groupPublicKey, keys.publicShares.get(1)!],
        proofOfKnowledge: new Uint8Array(64).fill(1),
      },
      c.digest,
      impostor.identitySecretKey,
    );
    const r = await postJson(`${urls.get(1)}/v1/dkg/round1`, JSON.stringify(wire), {
      "content-type": "application/json",
    });
    expect([r.status, r.json.error.code]).toEqual([401, "BAD_SIGNATURE"]);
  });

  it("refuses a correctly signed round-2 message whose sealed share was tampered with", async () => {
    const c = config();
    const sender = loadIdentity(dataDirs[1]!);
    const header = {
      networkId: NETWORK,
      epoch: EPOCH,
      configDigest: c.digest,
      from: 2,
      to: 1,
      transcript: new Uint8Array(32).fill(7),
    };
    const good = sealRound2(
      header,
      new Uint8Array(32).fill(3),
      c.holders[0]!.encryptionPublicKey,
      sender.identitySecretKey,
    );
    const ct = fromBase64Url(good.ciphertext);
    ct[0]! ^= 0x80;
    const tampered = signSealedRound2(
      header,
      { encapsulatedKey: fromBase64Url(good.encapsulatedKey), ciphertext: ct },
      sender.identitySecretKey,
    );
    const post = (w: unknown) =>
      postJson(`${urls.get(1)}/v1/dkg/round2`, JSON.stringify(w), { "content-type": "application/json" });
    const r = await post(tampered);
    expect([r.status, r.json.error.code]).toEqual([400, "BAD_INPUT"]);
    expect(r.json.error.message).toMatch(/does not open/);
    // The untampered message authenticates, but the DKG of this epoch is over.
    expect((await post(good)).json.error.code).toBe("CONFLICT");
    // A signature by another holder, or a message for another epoch, is refused too.
    const forged = {
      ...good,
      signature: signSealedRound2(
        header,
        { encapsulatedKey: fromBase64Url(good.encapsulatedKey), ciphertext: fromBase64Url(good.ciphertext) },
        loadIdentity(dataDirs[2]!).identitySecretKey,
      ).signature,
    };
    expect((await post(forged)).json.error.code).toBe("BAD_SIGNATURE");
    expect((await post({ ...good, epoch: EPOCH + 1 })).json.error.code).toBe("WRONG_EPOCH");
    expect((await post({ ...good, ciphertext: "@@" })).json.error.code).toBe("BAD_INPUT");
  });
});

describe("availability", () => {
  it("with holder 3 killed, holders 1 and 2 still serve; restarted, it reuses its stored key, usage and nonces", async () => {
    const batch = blindIdentifiers(keys, IDENTIFIERS);
    const before = combineResponses(keys, batch, await Promise.all([1, 3].map((i) => ask(i, batch))));
    // A request holder 3 accepted just before it dies, to replay after the restart.
    const text = body(blindIdentifiers(keys, IDENTIFIERS.slice(0, 1)));
    const replayHeaders = signHeaders(alice.secretKey, aud(3), "POST", "/v1/evaluate", text);
    expect((await evaluate(3, alice, text, replayHeaders)).status).toBe(200);
    const info3 = await info(3);

    await holders.get(3)!.stop("SIGKILL");
    await expect(fetch(`${urls.get(3)}/healthz`)).rejects.toThrow();
    const degraded = combineResponses(keys, batch, await Promise.all([1, 2].map((i) => ask(i, batch))));
    expect(degraded.map(toBase64Url)).toEqual(before.map(toBase64Url));

    const restarted = await startHolder(serveArgs(3));
    holders.set(3, restarted);
    const ready = await restarted.ready;
    expect(ready["dkg"]).toBe(false);
    expect(await info(3)).toEqual(info3);
    const after = combineResponses(keys, batch, await Promise.all([2, 3].map((i) => ask(i, batch))));
    expect(after.map(toBase64Url)).toEqual(before.map(toBase64Url));
    // The ledger was replayed: the quota used before the restart still counts, and the nonce is known.
    expect((await evaluate(3, quotaBound, text)).json.error.code).toBe("QUOTA_EXCEEDED");
    expect((await evaluate(3, alice, text, replayHeaders)).json.error.code).toBe("REPLAYED_REQUEST");
  });
});
