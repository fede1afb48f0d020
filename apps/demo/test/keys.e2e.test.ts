/**
 * The key end-to-end suites — `relink key rotate` (ADR 0068), the administrator's re-key of a lost key (ADR
 * 0037) and revocations pushed to the key holders (ADR 0038) — against ONE network of real processes per
 * backend (hub, two key holders, the `relink` CLI), started once here instead of once per suite (a network
 * takes 15–20 s to start on 2 cores). Each suite onboards its own members (their slugs prefixed with the
 * suite's name), so no suite sees another's keys, suspensions or books, and any one of them runs alone
 * (`-t`) or in any order. The holders' directory cache lives 10 minutes: only the hub's push (ADR 0038) makes
 * them refuse a revoked key in time, which revocation-push asserts and the other two rely on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import { type RunningNetwork, startNetwork } from "../src/network.ts";
import { freshServerDatabase } from "../src/postgres.ts";
import { adminRekeySuite } from "./keys/admin-rekey.ts";
import { keyRotationSuite } from "./keys/key-rotation.ts";
import { revocationPushSuite } from "./keys/revocation-push.ts";
import { KEYS_NETWORK_ID, KEYS_TTL_SECONDS, type KeysNetwork } from "./keys/shared.ts";

const serverUrl = process.env["TEST_DATABASE_URL"];

for (const backend of ["pglite", "postgres"] as const) {
  const run = backend === "postgres" && !serverUrl ? describe.skip : describe;
  run(`key rotation, re-key and revocation push on one network of real processes [${backend}]`, () => {
    let serverDb: { url: string; drop(): Promise<void> } | undefined;
    let dir: string | undefined;
    let net: RunningNetwork | undefined;
    const ctx: KeysNetwork = {
      backend,
      net: () => {
        if (!net) throw new Error("the keys network is not running");
        return net;
      },
      dir: (suite) => join(dir!, "suites", suite),
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `relink-keys-${backend}-`));
      serverDb = backend === "postgres" ? await freshServerDatabase(serverUrl!, "relink_keys") : undefined;
      net = await startNetwork({
        dir,
        ...(serverDb ? { databaseUrl: serverDb.url } : {}),
        networkId: KEYS_NETWORK_ID,
        holders: 2,
        threshold: 2,
        witnesses: [],
        checkpointIntervalMs: 500,
        directoryTtlSeconds: KEYS_TTL_SECONDS,
        evaluationCaps: { default: 50_000 },
      });
    });

    afterAll(async () => {
      await net?.stop();
      await serverDb?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    keyRotationSuite(ctx);
    adminRekeySuite(ctx);
    revocationPushSuite(ctx);
  });
}
