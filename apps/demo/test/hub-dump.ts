/**
 * Everything a stopped hub stored, as searchable text, for the privacy scans of the end-to-end tests: every
 * row of every table (bytea as UTF-8 and latin1 text, so the raw bytes of a leaked value show up; optionally hex).
 */
import { join } from "node:path";
import { createDb, type DbHandle } from "@relink/db";
import { sql } from "kysely";

export async function dumpHubDatabase(o: {
  backend: "pglite" | "postgres";
  dir: string;
  serverDbUrl?: string;
  /**
   * Also write bytea as hex. Right for long needles (identifiers); wrong for short decimal ones (balances),
   * which a long random hex string contains by chance.
   */
  hex?: boolean;
}): Promise<{
  tables: number;
  text: string;
}> {
  const db: DbHandle =
    o.backend === "postgres"
      ? await createDb({ kind: "postgres", connectionString: o.serverDbUrl! })
      : await createDb({ kind: "pglite", dataDir: join(o.dir, "hub") });
  let text = "";
  try {
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(
      db.db,
    );
    for (const { table_name } of tables.rows) {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table_name)}`.execute(
        db.db,
      );
      for (const row of rows) {
        for (const v of Object.values(row)) {
          if (v instanceof Uint8Array) {
            const b = Buffer.from(v);
            text += `${o.hex ? b.toString("hex") : ""} ${b.toString("utf8")} ${b.toString("latin1")}\n`;
          } else {
            text += `${typeof v === "object" ? JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x)) : String(v)}\n`;
          }
        }
      }
    }
    return { tables: tables.rows.length, text };
  } finally {
    await db.close();
  }
}
