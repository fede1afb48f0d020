#!/usr/bin/env node
/**
 * The hub's composition root: reads the environment (only here), starts the hub, stops on a signal.
 * DATABASE_URL → PostgreSQL; otherwise embedded PGlite in RELINK_DATA_DIR (default .relink/db).
 * HUB_PORT (default 7400), HUB_HOST (default 127.0.0.1).
 */
import { dbConfigFromEnv } from "@relink/db";
import { startHub } from "./hub.ts";
import { jsonLogger } from "./logger.ts";

const log = jsonLogger();
const dbConfig = dbConfigFromEnv(process.env);
const hub = await startHub({
  db: dbConfig,
  host: process.env["HUB_HOST"] ?? "127.0.0.1",
  port: Number(process.env["HUB_PORT"] ?? 7400),
  log,
});
const where =
  dbConfig.kind === "pglite" ? `embedded PGlite at ${dbConfig.dataDir}` : "PostgreSQL (DATABASE_URL)";
console.log(`Relink hub listening on ${hub.url} (database: ${where}); health: ${hub.url}/healthz`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    hub.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error("hub.close", { error: String(error) });
        process.exit(1);
      },
    );
  });
}
