/** Unit tests of the pieces that need no process: the seal, the config, the usage ledger, the nonce cache. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { x25519 } from "@noble/curves/ed25519.js";
import { toBase64Url } from "@relink/protocol";
import { silentLogger } from "@relink/protocol/http";
import { afterAll, describe, expect, it } from "vitest";
import { NonceCache } from "../src/auth.ts";
import { parseNetworkConfig } from "../src/config.ts";
import { initIdentity, loadIdentity } from "../src/identity.ts";
import { open, SealOpenError, seal } from "../src/seal.ts";
import {
  DEFAULT_EVALUATION_CAP,
  effectiveEvaluationQuota,
  parseEvaluationCaps,
  secondsUntilNextUtcDay,
  UsageLedger,
} from "../src/usage.ts";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "relink-kh-unit-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("seal (HPKE-style, X25519 + HKDF-SHA256 + XChaCha20-Poly1305)", () => {
  const sk = x25519.utils.randomSecretKey();
  const pk = x25519.getPublicKey(sk);
  const aad = new TextEncoder().encode("from 1 to 2, net, epoch 7");
  const share = crypto.getRandomValues(new Uint8Array(32));

  it("round-trips, and each seal uses a fresh ephemeral key", () => {
    const a = seal(pk, aad, share);
    const b = seal(pk, aad, share);
    expect(open(sk, pk, aad, a)).toEqual(share);
    expect(a.encapsulatedKey).not.toEqual(b.encapsulatedKey);
    expect(a.ciphertext).toHaveLength(48);
  });

  it("refuses a flipped ciphertext bit, another enc, other associated data and another recipient", () => {
    const s = seal(pk, aad, share);
    const flipped = s.ciphertext.slice();
    flipped[5]! ^= 1;
    expect(() => open(sk, pk, aad, { ...s, ciphertext: flipped })).toThrow(SealOpenError);
    expect(() =>
      open(sk, pk, aad, { ...s, encapsulatedKey: x25519.getPublicKey(x25519.utils.randomSecretKey()) }),
    ).toThrow(SealOpenError);
    expect(() => open(sk, pk, new TextEncoder().encode("from 3 to 2, net, epoch 7"), s)).toThrow(
      SealOpenError,
    );
    const other = x25519.utils.randomSecretKey();
    expect(() => open(other, x25519.getPublicKey(other), aad, s)).toThrow(SealOpenError);
  });

  it("refuses a low-order (all-zero) encapsulated key", () => {
    const s = seal(pk, aad, share);
    expect(() => open(sk, pk, aad, { ...s, encapsulatedKey: new Uint8Array(32) })).toThrow(SealOpenError);
  });
});

describe("network config", () => {
  const holder = (index: number) => ({
    index,
    url: `http://127.0.0.1:${7500 + index}`,
    identityPublicKey: toBase64Url(crypto.getRandomValues(new Uint8Array(32))),
    encryptionPublicKey: toBase64Url(crypto.getRandomValues(new Uint8Array(32))),
  });
  const base = {
    networkId: "relink-test",
    epoch: 1,
    threshold: 2,
    holders: [holder(1), holder(2), holder(3)],
  };

  it("parses a valid config and digests keys, not URLs", () => {
    const a = parseNetworkConfig(base);
    const b = parseNetworkConfig({ ...base, holders: base.holders.map((h) => ({ ...h, url: `${h.url}/` })) });
    expect(a.holders.map((h) => h.index)).toEqual([1, 2, 3]);
    expect(a.digest).toEqual(b.digest);
    expect(parseNetworkConfig({ ...base, threshold: 3 }).digest).not.toEqual(a.digest);
  });

  it("names what is wrong", () => {
    expect(() => parseNetworkConfig({ ...base, threshold: 4 })).toThrow(/threshold/);
    expect(() => parseNetworkConfig({ ...base, holders: [holder(1), holder(3)] })).toThrow(/1\.\.n/);
    expect(() => parseNetworkConfig({ ...base, epoch: 0 })).toThrow(/epoch/);
    const dup = holder(2);
    expect(() =>
      parseNetworkConfig({
        ...base,
        holders: [holder(1), dup, { ...holder(3), identityPublicKey: dup.identityPublicKey }],
      }),
    ).toThrow(/identityPublicKey/);
  });
});

describe("identity", () => {
  it("is created 0600, reloads identically and is never overwritten", () => {
    const d = tmp();
    const id = initIdentity(d, 2);
    expect(statSync(join(d, "identity.json")).mode & 0o777).toBe(0o600);
    expect(loadIdentity(d)).toEqual(id);
    expect(() => initIdentity(d, 2)).toThrow(/already exists/);
  });
});

describe("evaluation caps (the holder's own per-member limits)", () => {
  it("meters against min(hub quota, holder cap): a member's own override, else the default", () => {
    const caps = parseEvaluationCaps({ default: 300, members: { "big-bank": 20_000 } });
    expect(effectiveEvaluationQuota(caps, { slug: "fisher", dailyEvaluationQuota: 50_000 })).toBe(300);
    expect(effectiveEvaluationQuota(caps, { slug: "big-bank", dailyEvaluationQuota: 50_000 })).toBe(20_000);
    expect(effectiveEvaluationQuota(caps, { slug: "big-bank", dailyEvaluationQuota: 1_000 })).toBe(1_000);
    expect(parseEvaluationCaps({}).default).toBe(DEFAULT_EVALUATION_CAP);
    expect(DEFAULT_EVALUATION_CAP).toBeLessThan(1000);
  });

  it("refuses malformed cap files naming the field", () => {
    expect(() => parseEvaluationCaps([])).toThrow(/JSON object/);
    expect(() => parseEvaluationCaps({ default: -1 })).toThrow(/default: expected an integer/);
    expect(() => parseEvaluationCaps({ default: 1.5 })).toThrow(/default/);
    expect(() => parseEvaluationCaps({ members: { "Big Bank": 5 } })).toThrow(/not a slug/);
    expect(() => parseEvaluationCaps({ members: { "big-bank": "5" } })).toThrow(/members.big-bank/);
    expect(() => parseEvaluationCaps({ defualt: 5 })).toThrow(/unknown field 'defualt'/);
  });
});

describe("usage ledger", () => {
  const member = "5f0e9a52-3c1b-4d1e-9a51-8f0d7d1c2b3a";
  const now = Date.UTC(2026, 10, 26, 23, 59, 0);

  it("meters per UTC day, refuses past the quota with the seconds to midnight, and survives a restart", () => {
    const d = tmp();
    const path = join(d, "usage.jsonl");
    const nonces = new NonceCache();
    const ledger = UsageLedger.open(path, { log: silentLogger, nonces, now });
    ledger.meter({ memberId: member, quota: 5, count: 3, epoch: 1, nonce: "a.1", ts: now }, now);
    expect(() =>
      ledger.meter({ memberId: member, quota: 5, count: 3, epoch: 1, nonce: "a.2", ts: now }, now),
    ).toThrow(expect.objectContaining({ code: "QUOTA_EXCEEDED", details: { retryAfterSeconds: 60 } }));
    ledger.close();
    // A crash mid-write leaves a torn line: it is skipped and the next entry starts on a fresh line.
    writeFileSync(path, readFileSync(path, "utf8") + '{"v":1,"day":"2026-11-', { flag: "w" });
    const nonces2 = new NonceCache();
    const again = UsageLedger.open(path, { log: silentLogger, nonces: nonces2, now });
    expect(again.evaluatedOn("2026-11-26", member)).toBe(3);
    expect(nonces2.remember("a.1", now + 1000, now)).toBe(false);
    expect(() =>
      again.meter({ memberId: member, quota: 5, count: 3, epoch: 1, nonce: "a.3", ts: now }, now),
    ).toThrow(/quota/);
    // The next UTC day starts afresh.
    const tomorrow = now + 120_000;
    again.meter({ memberId: member, quota: 5, count: 5, epoch: 1, nonce: "a.4", ts: tomorrow }, tomorrow);
    expect(again.rows()).toEqual([
      { day: "2026-11-27", memberId: member, evaluated: 5, refused: 0 },
      { day: "2026-11-26", memberId: member, evaluated: 3, refused: 6 },
    ]);
    again.close();
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(lines.filter((l) => l.startsWith("{") && l.endsWith("}"))).toHaveLength(4);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("computes the seconds until the next UTC midnight", () => {
    expect(secondsUntilNextUtcDay(Date.UTC(2026, 0, 1, 0, 0, 0))).toBe(86_400);
    expect(secondsUntilNextUtcDay(Date.UTC(2026, 0, 1, 23, 59, 59, 500))).toBe(1);
  });
});

describe("nonce cache", () => {
  it("refuses a nonce inside its window and forgets it afterwards", () => {
    const c = new NonceCache();
    expect(c.remember("k.n", 1000, 0)).toBe(true);
    expect(c.remember("k.n", 1000, 999)).toBe(false);
    expect(c.remember("k.n", 3000, 1000)).toBe(true);
  });
});
