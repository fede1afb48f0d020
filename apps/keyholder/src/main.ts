#!/usr/bin/env node
/**
 * relink-keyholder — the key holder's command line (composition root; the only place that reads argv).
 *
 *   relink-keyholder init  --data-dir D --index I
 *       creates D/identity.json (0600) and prints {index, identityPublicKey, encryptionPublicKey}
 *   relink-keyholder identity --data-dir D
 *       prints the same public JSON again
 *   relink-keyholder serve --data-dir D --network network.json --port P --hub URL
 *                          [--host 127.0.0.1] [--workers N] [--dkg-timeout S]
 *                          [--directory-ttl S] [--directory-refetch S] [--evaluation-caps caps.json]
 *       runs the DKG with its peers if D holds no key for the configured epoch, then serves
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { jsonLogger } from "@relink/protocol/http";
import { loadNetworkConfig } from "./config.ts";
import { startKeyHolder } from "./holder.ts";
import { initIdentity, loadIdentity, publicIdentity } from "./identity.ts";
import { loadEvaluationCaps } from "./usage.ts";

const USAGE = `usage:
  relink-keyholder init --data-dir DIR --index I
  relink-keyholder identity --data-dir DIR
  relink-keyholder serve --data-dir DIR --network network.json --port PORT --hub URL
                         [--host 127.0.0.1] [--workers N] [--dkg-timeout SECONDS]
                         [--directory-ttl SECONDS] [--directory-refetch SECONDS]
                         [--evaluation-caps caps.json]   (per-member daily caps; default 500 each)`;

/** Exit codes as the `relink` CLI: 0 done, 1 failed, 2 usage error. No stack trace for either. */
function fail(message: string): never {
  console.error(`relink-keyholder: ${message}`);
  process.exit(2);
}

function die(message: string): never {
  console.error(`relink-keyholder: ${message}`);
  process.exit(1);
}

function intOption(value: string | undefined, name: string, fallback?: number, min = 0): number {
  if (value === undefined) {
    if (fallback === undefined) fail(`--${name} is required\n${USAGE}`);
    return fallback;
  }
  if (!/^\d+$/.test(value) || Number(value) < min) fail(`--${name}: expected an integer ≥ ${min}`);
  return Number(value);
}

const [command, ...rest] = process.argv.slice(2);
// --help never starts anything.
if (
  command === undefined ||
  ["--help", "-h", "help"].includes(command) ||
  rest.some((a) => a === "--help" || a === "-h")
) {
  console.log(USAGE);
  process.exit(command === undefined ? 2 : 0);
}
let values: Record<string, string | undefined>;
try {
  values = parseArgs({
    args: rest,
    options: {
      "data-dir": { type: "string" },
      index: { type: "string" },
      network: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      hub: { type: "string" },
      workers: { type: "string" },
      "dkg-timeout": { type: "string" },
      "directory-ttl": { type: "string" },
      "directory-refetch": { type: "string" },
      "evaluation-caps": { type: "string" },
    },
    strict: true,
  }).values as Record<string, string | undefined>;
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`);
}
const dataDir = values["data-dir"] ?? fail(`--data-dir is required\n${USAGE}`);

switch (command) {
  case "init": {
    try {
      const id = initIdentity(dataDir, intOption(values["index"], "index", undefined, 1));
      console.log(JSON.stringify(publicIdentity(id), null, 2));
    } catch (error) {
      die((error as Error).message);
    }
    break;
  }
  case "identity": {
    try {
      console.log(JSON.stringify(publicIdentity(loadIdentity(dataDir)), null, 2));
    } catch (error) {
      die((error as Error).message);
    }
    break;
  }
  case "serve": {
    const networkPath = values["network"] ?? fail(`--network is required\n${USAGE}`);
    const hubUrl = values["hub"] ?? fail(`--hub is required\n${USAGE}`);
    if (!URL.canParse(hubUrl)) fail("--hub: not a URL");
    let identity: ReturnType<typeof loadIdentity>;
    let config: ReturnType<typeof loadNetworkConfig>;
    let evaluationCaps: ReturnType<typeof loadEvaluationCaps> | undefined;
    try {
      identity = loadIdentity(dataDir);
      config = loadNetworkConfig(networkPath);
      const capsPath = values["evaluation-caps"];
      if (capsPath) evaluationCaps = loadEvaluationCaps(capsPath);
    } catch (error) {
      die((error as Error).message);
    }
    const log = jsonLogger(undefined, undefined, { holder: identity.index });
    let holder: Awaited<ReturnType<typeof startKeyHolder>>;
    try {
      holder = await startKeyHolder({
        dataDir,
        config,
        identity,
        hubUrl,
        host: values["host"] ?? "127.0.0.1",
        port: intOption(values["port"], "port"),
        log,
        workers: intOption(values["workers"], "workers", Math.min(4, availableParallelism()), 1),
        dkgTimeoutMs: intOption(values["dkg-timeout"], "dkg-timeout", 600, 1) * 1000,
        directoryTtlMs: intOption(values["directory-ttl"], "directory-ttl", 30) * 1000,
        directoryRefetchMs: intOption(values["directory-refetch"], "directory-refetch", 5) * 1000,
        ...(evaluationCaps ? { evaluationCaps } : {}),
        // Browser origins of the portal (comma-separated), e.g. the hub's URL when it hosts the portal.
        corsOrigins: (process.env["RELINK_CORS_ORIGINS"] ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      });
    } catch (error) {
      die((error as Error).message);
    }
    let stopping = false;
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      holder.close().then(
        () => process.exit(code),
        (error: unknown) => {
          log.error("keyholder.close", { error: String(error) });
          process.exit(1);
        },
      );
    };
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stop(0));
    try {
      const r = await holder.ready;
      log.info("keyholder.ready", {
        url: holder.url,
        dkg: r.dkg,
        networkId: config.networkId,
        epoch: config.epoch,
      });
      console.error(
        `Relink key holder ${identity.index} (${config.networkId}, epoch ${config.epoch}) serving on ${holder.url}` +
          (r.dkg ? " — key generated by DKG" : " — stored key"),
      );
    } catch (error) {
      log.error("dkg.failed", { error: (error as Error).message });
      console.error(`relink-keyholder: DKG failed: ${(error as Error).message}`);
      stop(1);
    }
    break;
  }
  default:
    fail(command ? `unknown command '${command}'\n${USAGE}` : USAGE);
}
