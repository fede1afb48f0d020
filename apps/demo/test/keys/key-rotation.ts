/**
 * `relink key rotate` (ADR 0068) against a network of real processes (hub, two key holders, the CLI; shared
 * with the other key suites, keys.e2e.test.ts): the member rotates, then still publishes and matches with the
 * new key; a request signed with the old key is refused by the hub at once and by a key holder once the hub
 * has pushed the change (ADR 0038). The member home keeps the old key as an owner-only backup and
 * member.json stays owner-only.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed25519SignerFor, fromHex, keyFingerprint, toBase64Url, toHex } from "@relink/protocol";
import { createHubClient, ed25519Signer, rotateSigningKey } from "@relink/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { writeCsvFile } from "../../src/csv.ts";
import {
  holderSays as holderSaysTo,
  hubSays as hubSaysTo,
  memberSecretKey,
  untilHolderSays,
} from "../../src/key-checks.ts";
import { addMember } from "../../src/network.ts";
import { buildScenario, MEMBERS, type Scenario } from "../../src/scenario.ts";
import { KEYS_DEADLINE_MS, KEYS_NETWORK_ID, type KeysNetwork, suiteFiles, suiteMember } from "./shared.ts";

const today = new Date().toISOString().slice(0, 10);
const NETWORK_ID = KEYS_NETWORK_ID;
const deadlineMs = KEYS_DEADLINE_MS;
const SUITE = "rotation";
const BANK = suiteMember(SUITE, MEMBERS.bank);
const CONSUMER = suiteMember(SUITE, MEMBERS.consumer);

export function keyRotationSuite(ctx: KeysNetwork): void {
  describe("relink key rotate", () => {
    let net: ReturnType<KeysNetwork["net"]>;
    let s: Scenario;
    let file: (name: string) => string;
    const M = CONSUMER.slug; // lender and collector: publishes and matches
    const memberJson = () => join(net.homeDir(M), "member.json");
    const secretOf = () => memberSecretKey(net.homeDir(M));
    const relink = (args: string[]) => net.relink([...args, "--no-progress"], M);

    const hubSays = (secret: Uint8Array) => hubSaysTo(net.hubUrl, secret);
    /** Key holder 1's answer to an evaluation signed by `secret` (BAD_INPUT: the key was accepted). */
    const holderSays = (secret: Uint8Array) => holderSaysTo(net.holderUrls[0]!, NETWORK_ID, 1, secret);

    beforeAll(async () => {
      net = ctx.net();
      file = suiteFiles(ctx, SUITE);
      await addMember(net, BANK);
      await addMember(net, CONSUMER);
      s = buildScenario({ seed: 68, population: 60, debtors: 12, unconsented: 2, asOf: today });
      writeCsvFile(file("bank.csv"), s.books.bank);
      writeCsvFile(file("consumer.csv"), s.books.consumer);
      writeCsvFile(file("debtors.csv"), s.debtors);
      writeCsvFile(file("consents.csv"), s.consents);
      const pub = await net.relink(["publish", file("bank.csv"), "--no-progress"], BANK.slug);
      expect(pub.code, pub.stderr).toBe(0);
    });

    it("rotates: the new key publishes and matches, the old one is refused by the hub and then the holders", async () => {
      const old = secretOf();
      // Before: the old key works everywhere (the holder has it cached).
      expect(await hubSays(old)).toBe("ok");
      expect(await holderSays(old)).toBe("BAD_INPUT");
      const before = await relink(["consent", "import", file("consents.csv")]);
      expect(before.code, before.stderr).toBe(0);

      const r = await relink(["key", "rotate", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as {
        oldFingerprint: string;
        newFingerprint: string;
        publicKey: string;
        backup: string;
        receipts: string;
      };
      const next = secretOf();
      expect(next).not.toEqual(old);
      expect(out.oldFingerprint).toBe(toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(old))));
      expect(out.newFingerprint).toBe(toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(next))));
      expect(out.publicKey).toBe(toBase64Url(ed25519.getPublicKey(next)));
      expect(out.receipts).toMatch(/^1\/1 receipt\(s\) verified/);
      // The home: member.json and the backup owner-only, the backup holding the old key; no staged key left.
      expect(statSync(memberJson()).mode & 0o777).toBe(0o600);
      expect(statSync(out.backup).mode & 0o777).toBe(0o600);
      expect(statSync(join(net.homeDir(M), "retired-keys")).mode & 0o777).toBe(0o700);
      const backup = JSON.parse(readFileSync(out.backup, "utf8")) as {
        signingSecretKey: string;
        reason: string;
      };
      expect(fromHex(backup.signingSecretKey)).toEqual(old);
      expect(backup.reason).toBe("rotated");
      expect(() => statSync(join(net.homeDir(M), "signing-key.pending.json"))).toThrow();

      // The hub refuses the old key at once and accepts the new one.
      expect(await hubSays(old)).toBe("UNKNOWN_KEY");
      expect(await hubSays(next)).toBe("ok");

      // The member works on with the new key: publish (key holders and hub) and match (holders, hub, consents).
      const pub = await relink(["publish", file("consumer.csv")]);
      expect(pub.code, pub.stderr).toBe(0);
      const match = await relink(["match", file("debtors.csv"), "--purpose", "debt_collection", "--json"]);
      expect(match.code, match.stderr).toBe(0);
      const got = JSON.parse(match.stdout) as { results: { status: string }[] };
      expect(got.results).toHaveLength(s.debtors.length);
      expect(got.results.some((x) => x.status === "matched")).toBe(true);

      // The key holder refuses the old key once the hub has pushed the change (its cache lives 10 minutes).
      const holder = await untilHolderSays(
        net.holderUrls[0]!,
        NETWORK_ID,
        1,
        old,
        "UNKNOWN_KEY",
        Date.now() + deadlineMs,
      );
      expect(holder).toBe("UNKNOWN_KEY");
      expect(await holderSays(next)).toBe("BAD_INPUT");

      // A second rotation, --quiet: nothing on stdout, and the key it replaced is refused in turn.
      const again = await relink(["key", "rotate", "--quiet"]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe("");
      expect(await hubSays(next)).toBe("UNKNOWN_KEY");
      expect(await hubSays(secretOf())).toBe("ok");
    });

    it("finishes an interrupted rotation, and discards a staged key the hub never saw", async () => {
      const pending = join(net.homeDir(M), "signing-key.pending.json");
      // A staged key the hub never accepted (the run died before the hub answered): discarded, fresh rotation.
      const stray = ed25519.utils.randomSecretKey();
      writeFileSync(pending, JSON.stringify({ signingSecretKey: toHex(stray) }), { mode: 0o600 });
      const before = secretOf();
      const fresh = await relink(["key", "rotate", "--json"]);
      expect(fresh.code, fresh.stderr).toBe(0);
      expect((JSON.parse(fresh.stdout) as { resumed: boolean }).resumed).toBe(false);
      expect(secretOf()).not.toEqual(stray);
      expect(secretOf()).not.toEqual(before);
      expect(await hubSays(secretOf())).toBe("ok");

      // The hub committed but the run died before replacing member.json: the next run finishes the job.
      const current = secretOf();
      const next = ed25519.utils.randomSecretKey();
      writeFileSync(pending, JSON.stringify({ signingSecretKey: toHex(next) }), { mode: 0o600 });
      const signer = ed25519Signer(current);
      await rotateSigningKey(createHubClient({ url: net.hubUrl, signer }), {
        currentFingerprint: signer.fingerprint,
        newKey: ed25519SignerFor(next),
      });
      const resumed = await relink(["key", "rotate", "--json"]);
      expect(resumed.code, resumed.stderr).toBe(0);
      const out = JSON.parse(resumed.stdout) as { resumed: boolean; backup: string };
      expect(out.resumed).toBe(true);
      expect(secretOf()).toEqual(next);
      expect(
        fromHex(
          (JSON.parse(readFileSync(out.backup, "utf8")) as { signingSecretKey: string }).signingSecretKey,
        ),
      ).toEqual(current);
      expect(() => statSync(pending)).toThrow();
      expect(await hubSays(next)).toBe("ok");
    });
  });
}
