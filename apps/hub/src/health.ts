import type { LogIntegrityStatus } from "@relink/core";
import type { Database } from "@relink/db";
import { type Route, sendJson } from "@relink/protocol/http";
import type { Kysely } from "kysely";
import { sql } from "kysely";

/** GET /healthz: the database answers and which migrations it has. Nothing member-specific. */
export function healthRoutes(deps: {
  db: Kysely<Database>;
  backend: string;
  version: string;
  /** The network this hub serves: clients sign their requests for `hubAudience(networkId)` (ADR 0026). */
  networkId?: string;
}): Route[] {
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
          ...(deps.networkId ? { networkId: deps.networkId } : {}),
          database: deps.backend,
          migrations: rows.map((r) => r.name),
        });
      },
    },
  ];
}

/**
 * GET /healthz/log: the latest scheduled self-audit of the stored audit log (docs/runbooks/hub.md). 200 while
 * it passes (or has not run yet), 503 when the stored leaves no longer match the signed checkpoints. The log
 * is public, so the answer (a problem code and an index) is too.
 */
export function logHealthRoutes(deps: { status: () => LogIntegrityStatus }): Route[] {
  return [
    {
      method: "GET",
      path: "/healthz/log",
      handle: ({ res }) => {
        const s = deps.status();
        sendJson(res, s.state === "failed" ? 503 : 200, {
          state: s.state,
          checkedAt: s.checkedAt?.toISOString(),
          size: s.size,
          checkpoints: s.checkpoints,
          problem: s.problem,
          index: s.index,
          checkpointSize: s.checkpointSize,
          message: s.message,
          runs: s.runs,
          failures: s.failures,
        });
      },
    },
  ];
}
