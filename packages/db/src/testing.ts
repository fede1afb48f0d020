/**
 * Test harness: every DB test file gets its own fresh, migrated database on each backend.
 *  - PGlite: a new instance restored from a migrated dump (PGlite takes seconds to start from scratch,
 *    well under one to load a dump). The dump is cached on disk, keyed by the migration list.
 *  - PostgreSQL: a uniquely named database created on the server named by TEST_DATABASE_URL and dropped
 *    afterwards. Without TEST_DATABASE_URL the PostgreSQL suite is reported as skipped, not passed.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { createDb, type DbHandle, kyselyOverPglite, migrateToLatest, openPglite } from "./client.ts";
import { migrations } from "./migrations/index.ts";
import type { Database } from "./schema.ts";

export type Backend = "pglite" | "postgres";

export interface TestDb extends DbHandle {
  backend: Backend;
  /** Connection string of the per-test database (PostgreSQL only), for child processes. */
  connectionString?: string;
}

function templateCachePath(): string {
  // Keyed by the migrations' names and code, so adding or (in development) editing one invalidates it.
  const source = Object.entries(migrations)
    .map(([name, m]) => `${name}\n${m.up.toString()}`)
    .join("\n");
  const key = createHash("sha256").update(source).digest("hex").slice(0, 32);
  const dir = join(tmpdir(), "relink-test-cache");
  mkdirSync(dir, { recursive: true });
  return join(dir, `pglite-${process.versions.node}-${key}.tar.gz`);
}

async function pgliteTemplate(): Promise<Blob> {
  const path = templateCachePath();
  if (existsSync(path)) return new Blob([readFileSync(path)]);
  const pglite = await openPglite();
  const db = kyselyOverPglite(pglite);
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir("gzip");
  await db.destroy();
  const bytes = new Uint8Array(await dump.arrayBuffer());
  // Write-then-rename so concurrent test workers never read a half-written file.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
  return new Blob([bytes]);
}

/** A fresh migrated PGlite database. */
export async function freshPglite(options: { migrate?: boolean } = {}): Promise<TestDb> {
  const handle =
    options.migrate === false
      ? await createDb({ kind: "pglite" })
      : await createDb({ kind: "pglite", loadDataDir: await pgliteTemplate() });
  return { ...handle, backend: "pglite" };
}

/** A fresh database on the PostgreSQL server; dropped (forcibly) on close. */
export async function freshPostgres(serverUrl: string, options: { migrate?: boolean } = {}): Promise<TestDb> {
  const name = `relink_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const connectionString = url.toString();
  const handle = await createDb({ kind: "postgres", connectionString });
  if (options.migrate !== false) await migrateToLatest(handle.db);
  return {
    ...handle,
    backend: "postgres",
    connectionString,
    close: async () => {
      await handle.close();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      try {
        await dropper.query(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

export function testDatabaseUrl(): string | undefined {
  return process.env["TEST_DATABASE_URL"] || undefined;
}

export async function freshDb(backend: Backend, options: { migrate?: boolean } = {}): Promise<TestDb> {
  if (backend === "pglite") return freshPglite(options);
  const url = testDatabaseUrl();
  if (!url) throw new Error("TEST_DATABASE_URL is not set");
  return freshPostgres(url, options);
}

/**
 * Runs the same suite on PGlite and on PostgreSQL, each with its own fresh database for the file.
 * The PostgreSQL suite is skipped (and reported so) when TEST_DATABASE_URL is unset.
 */
export function describeEachBackend(
  title: string,
  suite: (ctx: { db: () => Kysely<Database>; handle: () => TestDb; backend: Backend }) => void,
  options: { migrate?: boolean } = {},
): void {
  for (const backend of ["pglite", "postgres"] as const) {
    const run = backend === "postgres" && !testDatabaseUrl() ? describe.skip : describe;
    run(`${title} [${backend}]`, () => {
      let handle: TestDb | undefined;
      beforeAll(async () => {
        handle = await freshDb(backend, options);
      });
      afterAll(async () => {
        await handle?.close();
      });
      const current = (): TestDb => {
        if (!handle) throw new Error("database not ready");
        return handle;
      };
      suite({ db: () => current().db, handle: current, backend });
    });
  }
}
