/**
 * Revocations reach every key holder at once (ADR 0038), against a network of real processes (hub, two key
 * holders, the `relink` CLI; shared with the other key suites, keys.e2e.test.ts). The holders' directory cache lives 10 minutes here, so only the long poll can
 * make them refuse in time: after `relink key rotate` the old key, and after `relink admin suspend` the
 * suspended member, are refused by every holder (UNKNOWN_KEY, MEMBER_SUSPENDED) well inside half that TTL —
 * without the push this test fails. The time each holder took is printed (docs/benchmarks.md records it).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { holderSays as holderSaysTo, memberSecretKey, untilHolderSays } from "../../src/key-checks.ts";
import { addMember } from "../../src/network.ts";
import { MEMBERS } from "../../src/scenario.ts";
import { KEYS_DEADLINE_MS, KEYS_NETWORK_ID, type KeysNetwork, suiteMember } from "./shared.ts";

const NETWORK_ID = KEYS_NETWORK_ID;
/** A refusal must come well before the cache would have turned over on its own (and within the test bound). */
const deadlineMs = KEYS_DEADLINE_MS;
const SUITE = "revocation";
const BANK = suiteMember(SUITE, MEMBERS.bank);
const CONSUMER = suiteMember(SUITE, MEMBERS.consumer);

export function revocationPushSuite(ctx: KeysNetwork): void {
  const backend = ctx.backend;
  describe("revocations reach every key holder at once", () => {
    let net: ReturnType<KeysNetwork["net"]>;
    const secretOf = (slug: string) => memberSecretKey(net.homeDir(slug));
    const holderSays = (i: number, secret: Uint8Array) =>
      holderSaysTo(net.holderUrls[i]!, NETWORK_ID, i + 1, secret);

    /** Asks every holder until each answers `code` (or the deadline passes); the ms each took. */
    async function untilEveryHolderSays(secret: Uint8Array, code: string, since: number): Promise<number[]> {
      return Promise.all(
        net.holderUrls.map(async (url, i) => {
          const got = await untilHolderSays(url, NETWORK_ID, i + 1, secret, code, since + deadlineMs);
          expect(got, `holder ${i + 1}`).toBe(code);
          return Date.now() - since;
        }),
      );
    }

    /** Waits until every holder follows the directory (its /healthz shows the version it holds). */
    async function holdersFollow(): Promise<void> {
      const until = Date.now() + deadlineMs;
      for (const url of net.holderUrls) {
        let version: number | undefined;
        while (version === undefined && Date.now() < until) {
          version = ((await (await fetch(`${url}/healthz`)).json()) as { directoryVersion?: number })
            .directoryVersion;
          if (version === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(version, url).toBeTypeOf("number");
      }
    }

    beforeAll(async () => {
      net = ctx.net();
      await addMember(net, BANK);
      await addMember(net, CONSUMER);
    });

    it("a rotated key is refused by every key holder at once, the new key accepted", async () => {
      const M = CONSUMER.slug;
      const old = secretOf(M);
      await holdersFollow();
      // Both holders hold the old key (cached for 10 minutes from here on).
      for (const i of [0, 1]) expect(await holderSays(i, old)).toBe("BAD_INPUT");

      const r = await net.relink(["key", "rotate", "--quiet", "--no-progress"], M);
      expect(r.code, r.stderr).toBe(0);
      const ms = await untilEveryHolderSays(old, "UNKNOWN_KEY", Date.now());
      console.log(`rotation refused by the holders after ${ms.join(", ")} ms [${backend}]`);
      for (const i of [0, 1]) expect(await holderSays(i, secretOf(M))).toBe("BAD_INPUT");
    });

    it("a suspended member is refused by every key holder at once", async () => {
      const M = BANK.slug;
      const key = secretOf(M);
      for (const i of [0, 1]) expect(await holderSays(i, key)).toBe("BAD_INPUT");
      const r = await net.relink([
        "admin",
        "suspend",
        "--hub",
        net.hubUrl,
        "--admin-key",
        net.adminKeyFile,
        "--slug",
        M,
        "--reason",
        "revocation push test",
        "--quiet",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const ms = await untilEveryHolderSays(key, "MEMBER_SUSPENDED", Date.now());
      console.log(`suspension refused by the holders after ${ms.join(", ")} ms [${backend}]`);
    });
  });
}
