import type { Database } from "@relink/db";
import type { Kysely } from "kysely";
import { sql } from "kysely";
import { type Route, sendJson } from "./http.ts";

/** GET /healthz: the database answers and which migrations it has. Nothing member-specific. */
export function healthRoutes(deps: { db: Kysely<Database>; backend: string; version: string }): Route[] {
  return [
    {
      method: "GET",
      path: "/healthz",
      handle: async ({ res }) => {
        const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
          deps.db,
        );
        sendJson(res, 200, {
          status: "ok",
          version: deps.version,
          database: deps.backend,
          migrations: rows.map((r) => r.name),
        });
      },
    },
  ];
}
