/**
 * Composition of a running hub: opens the database, migrates, mounts the routes, listens.
 * Used by main.ts, by the demo network and by end-to-end tests (with their own db config and port 0).
 */
import type { Server } from "node:http";
import { createDb, type DbConfig, type DbHandle, migrateToLatest } from "@relink/db";
import { healthRoutes } from "./health.ts";
import { createHttpServer, type HubLogger, listen, type Route } from "./http.ts";

export const HUB_VERSION = "0.1.0";

export interface RunningHub {
  url: string;
  port: number;
  db: DbHandle;
  server: Server;
  close(): Promise<void>;
}

export async function startHub(options: {
  db: DbConfig;
  host?: string;
  port?: number;
  log: HubLogger;
  extraRoutes?: (db: DbHandle) => Route[];
}): Promise<RunningHub> {
  const db = await createDb(options.db);
  try {
    await migrateToLatest(db.db);
    const routes = [
      ...healthRoutes({ db: db.db, backend: db.kind, version: HUB_VERSION }),
      ...(options.extraRoutes?.(db) ?? []),
    ];
    const server = createHttpServer(routes, options.log);
    const { url, port } = await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
    return {
      url,
      port,
      db,
      server,
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
