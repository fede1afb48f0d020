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
 *                          [--directory-ttl S] [--directory-refetch S] [--directory-wait S]
 *                          [--directory-timeout S] [--evaluation-caps caps.json]
 *       runs the DKG with its peers if D holds no key for the configured epoch, then serves
 */
import { availableParallelism } from "node:os";
import { exitQuietlyWhenStdoutCloses, jsonLogger } from "@relink/protocol/http";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
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
                         [--directory-wait SECONDS] [--directory-timeout SECONDS]
                         [--evaluation-caps caps.json]   (per-member daily caps; default 500 each)
Environment: RELINK_CORS_ORIGINS (serve) — comma-separated browser origins of the portal.
Exit codes as the \`relink\` CLI: 0 done, 1 failed, 2 usage error.`;

/** A failure after the arguments parsed (identity exists, unreadable config): one line, exit 1. */
function die(message: string): never {
  console.error(`relink-keyholder: ${message}`);
  process.exit(1);
}

/** An integer option ≥ min: a commander argument parser (a bad value is a usage error, exit 2). */
const integer =
  (min: number) =>
  (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min)
      throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
    return Number(value);
  };

function url(value: string): string {
  if (!URL.canParse(value)) throw new InvalidArgumentError("not a URL");
  return value;
}

interface ServeOptions {
  dataDir: string;
  network: string;
  port: number;
  hub: string;
  host: string;
  workers?: number;
  dkgTimeout: number;
  directoryTtl: number;
  directoryRefetch: number;
  directoryWait: number;
  directoryTimeout: number;
  evaluationCaps?: string;
}

async function serve(o: ServeOptions): Promise<void> {
  let identity: ReturnType<typeof loadIdentity>;
  let config: ReturnType<typeof loadNetworkConfig>;
  let evaluationCaps: ReturnType<typeof loadEvaluationCaps> | undefined;
  try {
    identity = loadIdentity(o.dataDir);
    config = loadNetworkConfig(o.network);
    if (o.evaluationCaps) evaluationCaps = loadEvaluationCaps(o.evaluationCaps);
  } catch (error) {
    die((error as Error).message);
  }
  const log = jsonLogger(undefined, undefined, { holder: identity.index });
  let holder: Awaited<ReturnType<typeof startKeyHolder>>;
  try {
    holder = await startKeyHolder({
      dataDir: o.dataDir,
      config,
      identity,
      hubUrl: o.hub,
      host: o.host,
      port: o.port,
      log,
      workers: o.workers ?? Math.min(4, availableParallelism()),
      dkgTimeoutMs: o.dkgTimeout * 1000,
      directoryTtlMs: o.directoryTtl * 1000,
      directoryRefetchMs: o.directoryRefetch * 1000,
      directoryWaitMs: o.directoryWait * 1000,
      directoryTimeoutMs: o.directoryTimeout * 1000,
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
}

/** The program; parsing it with `--help` anywhere prints the usage and starts nothing. */
function buildProgram(): Command {
  const program = new Command("relink-keyholder")
    .description(
      "A key holder of Relink's threshold OPRF: one share of the network key, served to signed members.",
    )
    .addHelpText("afterAll", `\n${USAGE}`)
    // Usage errors exit 2 (commander's default is 1); help exits 0.
    .exitOverride();
  program
    .command("init")
    .description("create DIR/identity.json (0600) and print the public identity")
    .requiredOption("--data-dir <dir>", "the holder's data directory")
    .requiredOption("--index <i>", "this holder's index (1…n)", integer(1))
    .action((o: { dataDir: string; index: number }) => {
      try {
        console.log(JSON.stringify(publicIdentity(initIdentity(o.dataDir, o.index)), null, 2));
      } catch (error) {
        die((error as Error).message);
      }
    });
  program
    .command("identity")
    .description("print the public identity again")
    .requiredOption("--data-dir <dir>", "the holder's data directory")
    .action((o: { dataDir: string }) => {
      try {
        console.log(JSON.stringify(publicIdentity(loadIdentity(o.dataDir)), null, 2));
      } catch (error) {
        die((error as Error).message);
      }
    });
  program
    .command("serve")
    .description("run the DKG with the peers if DIR holds no key for the configured epoch, then serve")
    .requiredOption("--data-dir <dir>", "the holder's data directory")
    .requiredOption("--network <file>", "network.json")
    .requiredOption("--port <port>", "listen port (0: any free port)", integer(0))
    .requiredOption("--hub <url>", "the hub's URL (member directory)", url)
    .option("--host <host>", "listen address", "127.0.0.1")
    .addOption(
      new Option("--workers <n>", "OPRF worker threads (default min(4, cores))").argParser(integer(1)),
    )
    .option("--dkg-timeout <seconds>", "give up the DKG after this long", integer(1), 600)
    .option("--directory-ttl <seconds>", "member directory cache lifetime", integer(0), 30)
    .option("--directory-refetch <seconds>", "least time between directory fetches", integer(0), 5)
    .option(
      "--directory-wait <seconds>",
      "long poll on the member directory: revocations arrive at once (0: rely on the TTL)",
      integer(0),
      25,
    )
    .option("--directory-timeout <seconds>", "bound on a directory request beyond its wait", integer(1), 10)
    .option("--evaluation-caps <file>", "per-member daily caps (default 500 each)")
    .action((o: ServeOptions) => serve(o));
  return program;
}

exitQuietlyWhenStdoutCloses();
try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  // commander has printed the message (or the help) already.
  if (!(error instanceof CommanderError)) throw error;
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
