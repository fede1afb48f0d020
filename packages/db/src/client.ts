/**
 * createDb: one entry point for both backends.
 *  - a real PostgreSQL server through `pg` when a connection string is given;
 *  - otherwise embedded PGlite (PostgreSQL 18 in WASM) persisted in a data directory.
 * Both hand domain code the same JS types: int8 → bigint, numeric → string, bytea → Uint8Array,
 * timestamptz → Date, date → 'YYYY-MM-DD' string (a calendar day has no time zone; a Date would invent one). Type parsers are set per pool / per instance, never globally.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PGliteDialect, PostgresDialect } from "kysely";
import { type MigrationProvider, Migrator } from "kysely/migration";
import pg from "pg";
import { migrationProvider } from "./migrations/index.ts";
import type { Database } from "./schema.ts";

/** PostgreSQL type OIDs whose parsing we pin (pg_type.oid). */
const OID = { int8: 20, bytea: 17, numeric: 1700, date: 1082, timestamptz: 1184 } as const;

export type DbConfig =
  | { kind: "postgres"; connectionString: string; maxConnections?: number }
  | { kind: "pglite"; dataDir?: string; loadDataDir?: Blob };

export interface DbHandle {
  db: Kysely<Database>;
  kind: DbConfig["kind"];
  /** Closes the pool or the embedded instance; an unclosed PGlite keeps the process alive. */
  close(): Promise<void>;
}

/** Reads the choice of backend from the environment: the only place that does. */
export function dbConfigFromEnv(env: NodeJS.ProcessEnv, defaultDataDir = ".relink/db"): DbConfig {
  const url = env["DATABASE_URL"];
  if (url) return { kind: "postgres", connectionString: url };
  return { kind: "pglite", dataDir: env["RELINK_DATA_DIR"] ?? defaultDataDir };
}

/** PostgreSQL's text form of bytea is `\x` followed by hex. Parse to a plain Uint8Array, not a Buffer. */
function parseByteaHex(text: string): Uint8Array {
  if (!text.startsWith("\\x")) throw new Error("bytea: expected hex output format");
  return Uint8Array.from(Buffer.from(text.slice(2), "hex"));
}

function pgTypes(): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: string) => {
      if (oid === OID.int8) return (v: string) => BigInt(v);
      if (oid === OID.bytea) return parseByteaHex;
      if (oid === OID.numeric || oid === OID.date) return (v: string) => v;
      return pg.types.getTypeParser(oid, format as "text");
    }) as pg.CustomTypesConfig["getTypeParser"],
  };
}

/** PGlite parsers; PGlite already returns bytea as Uint8Array and timestamptz as Date. */
const pgliteParsers = {
  [OID.int8]: (v: string) => BigInt(v),
  [OID.numeric]: (v: string) => v,
  [OID.date]: (v: string) => v,
};

/**
 * bytea parameters as PostgreSQL's hex text through Node's native encoder. PGlite's own serializer builds
 * an array of one string per byte (`Array.from(bytes).map(…padStart…).join`): ≈ 15–90 ms for one 66 kB HE
 * ciphertext on this machine against ≈ 1 ms here, in the hub's only thread (ADR 0035). Same text, same
 * refusal of anything that is not bytes.
 */
export function serializeBytea(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new Error("Invalid input for bytea type");
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
}

const pgliteSerializers = { [OID.bytea]: serializeBytea };

/**
 * Owner-only permissions on a PGlite data directory: directories 0700, files 0600. PGlite's Emscripten file
 * system creates files 0666 whatever the umask (it chmods them), so the directory's own 0700 is what keeps
 * other local users out of files created while it runs; this also tightens what is already there. Symlinks
 * are left alone.
 */
export function restrictDataDir(dir: string): void {
  const walk = (path: string): void => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      if ((st.mode & 0o777) !== 0o700) chmodSync(path, 0o700);
      for (const name of readdirSync(path)) walk(join(path, name));
    } else if ((st.mode & 0o777) !== 0o600) chmodSync(path, 0o600);
  };
  walk(dir);
}

export async function openPglite(options: { dataDir?: string; loadDataDir?: Blob } = {}): Promise<PGlite> {
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    chmodSync(options.dataDir, 0o700); // before PGlite writes anything into it
  }
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    parsers: pgliteParsers,
    serializers: pgliteSerializers,
  });
  if (options.dataDir) restrictDataDir(options.dataDir);
  return pglite;
}

export function kyselyOverPglite(pglite: PGlite): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
}

export async function createDb(config: DbConfig): Promise<DbHandle> {
  if (config.kind === "postgres") {
    const pool = new pg.Pool({
      connectionString: config.connectionString,
      max: config.maxConnections ?? 10,
      types: pgTypes(),
    });
    // An idle client can be terminated by the server (restart, DROP DATABASE ... WITH (FORCE)). pg emits
    // that on the pool; unhandled it would crash the process. The pool drops the client, and the next
    // query opens a new connection or fails with its own error.
    pool.on("error", () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: "postgres", close: () => db.destroy() };
  }
  const pglite = await openPglite(config);
  const db = kyselyOverPglite(pglite);
  return {
    db,
    kind: "pglite",
    close: async () => {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
      // Files PGlite created while running (new relations, WAL segments) came out 0666: tighten them too.
      if (config.dataDir) restrictDataDir(config.dataDir);
    },
  };
}

export class MigrationError extends Error {
  override readonly name = "MigrationError";
  readonly migrationName: string | undefined;
  constructor(migrationName: string | undefined, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`migration ${migrationName ?? "(unknown)"} failed: ${reason}`, options);
    this.migrationName = migrationName;
  }
}

/** Applies every pending migration; throws MigrationError naming the one that failed. */
export async function migrateToLatest(
  db: Kysely<Database>,
  provider: MigrationProvider = migrationProvider,
): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new MigrationError(failed?.migrationName, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
