/**
 * Composition of a running hub: opens the database, migrates, mounts the routes, listens.
 * Used by main.ts, by the demo network and by end-to-end tests (with their own db config and port 0).
 */
import type { Server } from "node:http";
import {
  type AuditLogDeps,
  type CosignRequester,
  createCheckpointScheduler,
  httpCosignRequester,
  type WitnessEndpoint,
} from "@relink/core";
import { createDb, type DbConfig, type DbHandle, migrateToLatest } from "@relink/db";
import type { SignerKey } from "@relink/tlog";
import { healthRoutes } from "./health.ts";
import { createHttpServer, type HubLogger, listen, type Route } from "./http.ts";
import { logRoutes } from "./routes/log.ts";

export const HUB_VERSION = "0.1.0";

export interface RunningHub {
  url: string;
  port: number;
  db: DbHandle;
  server: Server;
  /** The audit log's dependencies, for the other use cases (present when `auditLog` was configured). */
  audit?: AuditLogDeps;
  close(): Promise<void>;
}

export interface HubAuditLogOptions {
  /** The log's Ed25519 signer key; its name is the checkpoint origin. */
  signer: SignerKey;
  witnesses: readonly WitnessEndpoint[];
  /** Cadence of checkpoint publication; 0 disables the timer (publication on demand only). */
  checkpointIntervalMs: number;
  requestCosignature?: CosignRequester;
  clock?: () => Date;
}

export async function startHub(options: {
  db: DbConfig;
  host?: string;
  port?: number;
  log: HubLogger;
  extraRoutes?: (db: DbHandle) => Route[];
  auditLog?: HubAuditLogOptions;
}): Promise<RunningHub> {
  const db = await createDb(options.db);
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<unknown> = Promise.resolve();
  try {
    await migrateToLatest(db.db);
    const log = options.log;
    const audit: AuditLogDeps | undefined = options.auditLog && {
      db: db.db,
      signer: options.auditLog.signer,
      witnesses: options.auditLog.witnesses,
      requestCosignature: options.auditLog.requestCosignature ?? httpCosignRequester(),
      clock: options.auditLog.clock ?? (() => new Date()),
      log: { info: log.info, warn: log.error },
    };
    const routes = [
      ...healthRoutes({ db: db.db, backend: db.kind, version: HUB_VERSION }),
      ...(audit ? logRoutes(audit) : []),
      ...(options.extraRoutes?.(db) ?? []),
    ];
    if (audit && options.auditLog!.checkpointIntervalMs > 0) {
      const cadence = createCheckpointScheduler(audit, {
        intervalMs: options.auditLog!.checkpointIntervalMs,
      });
      timer = setInterval(
        () => {
          inflight = cadence
            .tick()
            .catch((error: unknown) => log.error("audit.checkpoint_failed", { error: String(error) }));
        },
        Math.min(options.auditLog!.checkpointIntervalMs, 1000),
      );
      timer.unref();
    }
    const server = createHttpServer(routes, options.log);
    const { url, port } = await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
    return {
      url,
      port,
      db,
      server,
      ...(audit ? { audit } : {}),
      close: async () => {
        clearInterval(timer);
        await inflight;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await db.close();
      },
    };
  } catch (error) {
    clearInterval(timer);
    await db.close();
    throw error;
  }
}
