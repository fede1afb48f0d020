/**
 * An administrator re-keys a member that lost its request-signing key (ADR 0037), against a network of real
 * processes (hub, two key holders, the `relink` CLI on both sides; shared with the other key suites,
 * keys.e2e.test.ts). Here the lost key is also in a thief's
 * hands: the member makes a new key offline (`relink key new --offline`) and hands the proof file to the
 * administrator (`relink admin rekey <member> --proof-file F`). From then on the hub and every key holder
 * refuse the old key and accept the new one, and the member publishes again. Typed refusals: the same proof
 * twice, a proof for another member, a tampered proof, a malformed file, `key new` without --offline.
 * Then the member's DPO rotates its own key (`relink dpo rotate-key`, ADR 0037): the hub switches at once.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromHex, keyFingerprint, toBase64Url } from "@relink/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { writeCsvFile } from "../../src/csv.ts";
import {
  holderSays as holderSaysTo,
  hubSays as hubSaysTo,
  memberSecretKey,
  untilHolderSays,
} from "../../src/key-checks.ts";
import { addMember } from "../../src/network.ts";
import { buildScenario, MEMBERS } from "../../src/scenario.ts";
import { KEYS_DEADLINE_MS, KEYS_NETWORK_ID, type KeysNetwork, suiteFiles, suiteMember } from "./shared.ts";

const today = new Date().toISOString().slice(0, 10);
const NETWORK_ID = KEYS_NETWORK_ID;
const deadlineMs = KEYS_DEADLINE_MS;
const SUITE = "rekey";
const BANK = suiteMember(SUITE, MEMBERS.bank);
const CONSUMER = suiteMember(SUITE, MEMBERS.consumer);

export function adminRekeySuite(ctx: KeysNetwork): void {
  describe("relink admin rekey", () => {
    let net: ReturnType<KeysNetwork["net"]>;
    let file: (name: string) => string;
    const M = CONSUMER.slug;
    const secretOf = () => memberSecretKey(net.homeDir(M));
    /** `relink key new --offline` for the member, writing the proof to `out`. */
    const keyNew = (out: string, ...more: string[]) =>
      net.relink(
        ["key", "new", "--offline", "--member", M, "--network-id", NETWORK_ID, "--out", file(out), ...more],
        M,
      );
    const adminArgs = () => ["--hub", net.hubUrl, "--admin-key", net.adminKeyFile];

    const hubSays = (secret: Uint8Array, procedure?: string) => hubSaysTo(net.hubUrl, secret, procedure);
    const holderSays = (i: number, secret: Uint8Array) =>
      holderSaysTo(net.holderUrls[i]!, NETWORK_ID, i + 1, secret);

    beforeAll(async () => {
      net = ctx.net();
      file = suiteFiles(ctx, SUITE);
      await addMember(net, BANK);
      await addMember(net, CONSUMER);
      const s = buildScenario({ seed: 37, population: 40, debtors: 8, unconsented: 2, asOf: today });
      writeCsvFile(file("consumer.csv"), s.books.consumer);
    });

    it("the member makes a key offline, the administrator re-keys it: the lost key is refused everywhere", async () => {
      const lost = secretOf(); // also in a thief's hands
      expect(await hubSays(lost)).toBe("ok");
      for (const i of [0, 1]) expect(await holderSays(i, lost)).toBe("BAD_INPUT");

      const made = await keyNew("proof.json", "--json");
      expect(made.code, made.stderr).toBe(0);
      const out = JSON.parse(made.stdout) as { fingerprint: string; publicKey: string; backup: string };
      const next = secretOf();
      expect(next).not.toEqual(lost);
      expect(out.publicKey).toBe(toBase64Url(ed25519.getPublicKey(next)));
      expect(statSync(out.backup).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(out.backup, "utf8"))).toMatchObject({ reason: "lost" });
      // Nothing changed at the hub yet: offline means offline.
      expect(await hubSays(next)).toBe("UNKNOWN_KEY");
      expect(await hubSays(lost)).toBe("ok");

      const r = await net.relink(["admin", "rekey", M, "--proof-file", file("proof.json"), ...adminArgs()]);
      expect(r.code, r.stderr).toBe(0);
      const done = JSON.parse(r.stdout) as { revokedFingerprints: string[]; newFingerprint: string };
      expect(done.revokedFingerprints).toEqual([
        toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(lost))),
      ]);
      expect(done.newFingerprint).toBe(out.fingerprint);

      expect(await hubSays(lost)).toBe("UNKNOWN_KEY");
      expect(await hubSays(next)).toBe("ok");
      for (const i of [0, 1]) {
        const got = await untilHolderSays(
          net.holderUrls[i]!,
          NETWORK_ID,
          i + 1,
          lost,
          "UNKNOWN_KEY",
          Date.now() + deadlineMs,
        );
        expect(got, `holder ${i + 1}`).toBe("UNKNOWN_KEY");
        expect(await holderSays(i, next)).toBe("BAD_INPUT");
      }
      // The member works again with its new key (hub and key holders).
      const pub = await net.relink(["publish", file("consumer.csv"), "--no-progress"], M);
      expect(pub.code, pub.stderr).toBe(0);
    });

    it("refuses, with typed errors, a used proof, another member's, a tampered one, a malformed file", async () => {
      // The same proof file again: its key is registered now.
      const again = await net.relink([
        "admin",
        "rekey",
        M,
        "--proof-file",
        file("proof.json"),
        ...adminArgs(),
      ]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/CONFLICT/);
      // A proof for another member, named on the command line for this one.
      const other = await net.relink([
        "admin",
        "rekey",
        BANK.slug,
        "--proof-file",
        file("proof.json"),
        ...adminArgs(),
      ]);
      expect(other.code).toBe(1);
      expect(other.stderr).toContain(`the proof is for member '${M}', not '${BANK.slug}'`);
      // A fresh proof, its member field changed after signing: the hub refuses the proof.
      const fresh = await keyNew("proof2.json", "--quiet");
      expect(fresh.code, fresh.stderr).toBe(0);
      const proof2 = JSON.parse(readFileSync(file("proof2.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(file("tampered.json"), JSON.stringify({ ...proof2, member: BANK.slug }));
      const tampered = await net.relink([
        "admin",
        "rekey",
        BANK.slug,
        "--proof-file",
        file("tampered.json"),
        ...adminArgs(),
      ]);
      expect(tampered.code).toBe(1);
      expect(tampered.stderr).toMatch(/BAD_INPUT.*proof/);
      // A malformed file names the field.
      writeFileSync(file("bad.json"), JSON.stringify({ ...proof2, nonce: "short" }));
      const bad = await net.relink(["admin", "rekey", M, "--proof-file", file("bad.json"), ...adminArgs()]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/bad\.json: field nonce/);
      // `key new` without --offline is a usage error: a key still held is rotated instead.
      const online = await net.relink(
        ["key", "new", "--member", M, "--network-id", NETWORK_ID, "--out", file("x.json")],
        M,
      );
      expect(online.code).toBe(2);
      expect(online.stderr).toMatch(/relink key rotate/);
    });

    it("a member DPO rotates its key: the hub accepts the new one and refuses the old at once", async () => {
      const keyFile = file("dpo.key");
      const gen = await net.relink(["dpo", "keygen", "--out", keyFile]);
      expect(gen.code, gen.stderr).toBe(0);
      const { dpoPublicKey } = JSON.parse(gen.stdout) as { dpoPublicKey: string };
      const reg = await net.relink(["admin", "dpo-key", "--slug", M, "--key", dpoPublicKey, ...adminArgs()]);
      expect(reg.code, reg.stderr).toBe(0);
      const old = fromHex(readFileSync(keyFile, "utf8").trim());
      expect(await hubSays(old, "dpo.commitmentKey")).toBe("ok");

      const r = await net.relink([
        "dpo",
        "rotate-key",
        "--dpo-key",
        keyFile,
        "--home",
        net.homeDir(M),
        "--json",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as {
        oldFingerprint: string;
        newFingerprint: string;
        backup: string;
        receipt: string;
      };
      const next = fromHex(readFileSync(keyFile, "utf8").trim());
      expect(next).not.toEqual(old);
      expect(out.newFingerprint).toBe(toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(next))));
      expect(out.receipt).toMatch(/^verified/);
      expect(statSync(out.backup).mode & 0o777).toBe(0o600);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(fromHex(readFileSync(out.backup, "utf8").trim())).toEqual(old);
      expect(await hubSays(old, "dpo.commitmentKey")).toBe("UNKNOWN_KEY");
      expect(await hubSays(next, "dpo.commitmentKey")).toBe("ok");
    });
  });
}
