#!/usr/bin/env node
/**
 * The hub's composition root: reads the environment (only here), starts the hub, stops on a signal.
 * DATABASE_URL → PostgreSQL; otherwise embedded PGlite in RELINK_DATA_DIR (default .relink/db).
 * HUB_PORT (default 7400), HUB_HOST (default 127.0.0.1).
 * Audit log (docs/protocol/audit-log.md):
 *  - RELINK_LOG_KEY_FILE: the log's signer key (`PRIVATE+KEY+…`); default <RELINK_DATA_DIR>/log-signing.key,
 *    generated (mode 0600) on first start;
 *  - RELINK_LOG_ORIGIN: origin (= key name) used when generating; default relink.example/audit-log/v1;
 *  - RELINK_LOG_WITNESSES: comma-separated `<witness vkey> <submission URL>` pairs;
 *  - RELINK_LOG_CHECKPOINT_INTERVAL_MS: publication cadence, default 10000 (0 = on demand only);
 *  - RELINK_LOG_INTEGRITY_INTERVAL_MS: self-audit cadence (every stored leaf re-hashed against the signed
 *    checkpoints; GET /healthz/log), default 3600000 (0 = off).
 * Network (docs/runbooks/hub.md): RELINK_NETWORK_CONFIG names a JSON file (network id, epoch, threshold,
 * key holders, retention, admin keys); with it the tRPC API is served at /trpc. Without it the hub serves
 * only health and the audit log.
 * Member directory (ADR 0038): key holders follow it by long poll; RELINK_DIRECTORY_POLL_MS (default 200) is
 * how often the hub reads its version while a holder waits, RELINK_DIRECTORY_MAX_WAIT_MS (default 30000, 0 =
 * no long poll) the longest a holder's request is held.
 * Portal (ADR 0060): RELINK_PORTAL=1 serves the web portal (apps/portal, a production `next build`) from
 * this process at every path the hub does not use; RELINK_PORTAL_URL is the address browsers use (default
 * the hub's own URL; https:// turns on HSTS and secure cookies).
 * All of these are parsed in env.ts (zod); a wrong value stops the hub with one line naming the variable.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { dbConfigFromEnv } from "@relink/db";
import { fromBase64Url } from "@relink/protocol";
import { exitQuietlyWhenStdoutCloses, jsonLogger } from "@relink/protocol/http";
import {
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  parseSignerKey,
  verifierOf,
} from "@relink/tlog";
import { type HubEnv, parseHubEnv } from "./env.ts";
import { startHub } from "./hub.ts";
import { parseNetworkConfig } from "./network.ts";

const HELP = `relink-hub — the Relink hub server. It takes no arguments: it is configured by the environment.
  DATABASE_URL                     PostgreSQL; without it, embedded PGlite in RELINK_DATA_DIR (default .relink/db)
  HUB_HOST, HUB_PORT               listen address (default 127.0.0.1:7400)
  RELINK_NETWORK_CONFIG            network JSON (docs/runbooks/hub.md); without it only health and the audit log
  RELINK_LOG_KEY_FILE, RELINK_LOG_ORIGIN, RELINK_LOG_WITNESSES, RELINK_LOG_CHECKPOINT_INTERVAL_MS  audit log
  RELINK_DIRECTORY_POLL_MS, RELINK_DIRECTORY_MAX_WAIT_MS  key holders' long poll on the member directory
Exit codes: 0 stopped by a signal, 1 failed, 2 usage error. See apps/hub/README.md.`;

exitQuietlyWhenStdoutCloses();

// --help (or any argument) never starts the hub.
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}
if (args.length > 0) {
  console.error(
    `relink-hub: unexpected argument '${args[0]}': the hub is configured by the environment\n\n${HELP}`,
  );
  process.exit(2);
}

/** A configuration error: one line, no stack trace, exit 1. */
function configError(what: string, error: unknown): never {
  console.error(`relink-hub: ${what}: ${(error as Error).message}`);
  process.exit(1);
}

const log = jsonLogger();
const dbConfig = dbConfigFromEnv(process.env);
let env: HubEnv;
try {
  env = parseHubEnv(process.env);
} catch (error) {
  configError("environment", error);
}

const keyFile = env.RELINK_LOG_KEY_FILE ?? join(env.RELINK_DATA_DIR, "log-signing.key");
if (!existsSync(keyFile)) {
  const key = generateSignerKey(env.RELINK_LOG_ORIGIN, (n) => crypto.getRandomValues(new Uint8Array(n)));
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, `${formatSignerKey(key)}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(keyFile, 0o600);
  log.info("audit.key_generated", { file: keyFile });
}
let signer: ReturnType<typeof parseSignerKey>;
try {
  signer = parseSignerKey(readFileSync(keyFile, "utf8"));
} catch (error) {
  configError(`log key file ${keyFile}`, error);
}

const networkFile = env.RELINK_NETWORK_CONFIG;
let network: ReturnType<typeof parseNetworkConfig> | undefined;
try {
  network = networkFile ? parseNetworkConfig(JSON.parse(readFileSync(networkFile, "utf8"))) : undefined;
} catch (error) {
  configError(`RELINK_NETWORK_CONFIG ${networkFile}`, error);
}

const wantPortal = env.RELINK_PORTAL === "1" && network !== undefined;
const portalMount = wantPortal ? await import("@relink/portal/server") : undefined;
let portal: Promise<import("@relink/portal/server").PortalHandler> | undefined;

const hub = await startHub({
  db: dbConfig,
  host: env.HUB_HOST,
  port: env.HUB_PORT,
  log,
  auditLog: {
    signer,
    witnesses: env.RELINK_LOG_WITNESSES,
    checkpointIntervalMs: env.RELINK_LOG_CHECKPOINT_INTERVAL_MS,
    integrityIntervalMs: env.RELINK_LOG_INTEGRITY_INTERVAL_MS,
  },
  ...(network ? { network } : {}),
  directoryWatch: { pollMs: env.RELINK_DIRECTORY_POLL_MS, maxWaitMs: env.RELINK_DIRECTORY_MAX_WAIT_MS },
  ...(portalMount ? { extraRoutes: () => portalMount.portalRoutes(() => portal) } : {}),
});
if (portalMount && hub.core && network) {
  const publicUrl = env.RELINK_PORTAL_URL ?? hub.url;
  portal = portalMount.startPortal({
    publicUrl,
    bridge: portalMount.createBridge({
      core: hub.core,
      adminKeys: network.adminKeys.map(fromBase64Url),
      dpoKeys: (network.dpoKeys ?? []).map(fromBase64Url),
      secure: publicUrl.startsWith("https:"),
      holderUrls: network.keyHolders.map((h) => h.url),
    }),
  });
  try {
    await portal;
    console.log(`Relink portal on ${publicUrl}/`);
  } catch (error) {
    // The hub's API does not depend on the portal: serve without it (its routes answer 503).
    log.error("portal.start_failed", { error: String(error) });
    portal = undefined;
  }
}
const where =
  dbConfig.kind === "pglite" ? `embedded PGlite at ${dbConfig.dataDir}` : "PostgreSQL (DATABASE_URL)";
console.log(`Relink hub listening on ${hub.url} (database: ${where}); health: ${hub.url}/healthz`);
console.log(`audit log verifier key: ${formatVerifierKey(verifierOf(signer))}`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    Promise.resolve(portal?.then((p) => p.close()))
      .catch(() => undefined)
      .then(() => hub.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error("hub.close", { error: String(error) });
          process.exit(1);
        },
      );
  });
}
