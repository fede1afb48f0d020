/**
 * `npm run bench -- tlog`: the audit log's speed, each figure beside a same-run baseline.
 *  - batched appends (1000 leaves per transaction, through the sequencer) vs plain batched INSERTs of rows
 *    of the same size into the same database — on PostgreSQL and on PGlite;
 *  - inclusion-proof generation from storage at 10^6 leaves (the tree is bulk-loaded: hashes computed in
 *    memory, rows inserted with unnest), and offline receipt verification (log signature, 1 witness
 *    cosignature, 20-hash inclusion proof), vs raw SHA-256 of 32-byte inputs.
 * PostgreSQL: TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres; a fresh database, dropped after.
 */
import { randomBytes } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { createDb, type Database, type DbHandle, migrateToLatest } from "@relink/db";
import {
  encodeAuditEvent,
  formatVerifierKey,
  generateSignerKey,
  hashLeaf,
  MemoryTree,
  SIG_TYPE_COSIGNATURE_V1,
  verifierOf,
  verifyReceipt,
  verifyReceiptAsync,
  Witness,
} from "@relink/tlog";
import { sampleLookupEvent } from "@relink/tlog/testing";
import { type Kysely, sql } from "kysely";
import {
  type AuditLogDeps,
  appendLeaves,
  buildReceipt,
  proveInclusion,
  publishCheckpoint,
} from "../src/audit/audit-log.ts";

const SERVER = process.env["TEST_DATABASE_URL"] || "postgres://postgres@127.0.0.1:5432/postgres";
const BATCH = 1000;
const MILLION = 1_000_000;

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const logKey = generateSignerKey("relink.example/audit-log/v1", rnd);
const wKey = generateSignerKey("bench.member.example/witness", rnd, SIG_TYPE_COSIGNATURE_V1);

const event = sampleLookupEvent;

function auditDeps(db: Kysely<Database>): AuditLogDeps {
  const witness = new Witness({
    key: wKey,
    logs: [{ origin: logKey.name, key: verifierOf(logKey) }],
    now: () => BigInt(Math.floor(Date.now() / 1000)),
  });
  return {
    db,
    signer: logKey,
    witnesses: [{ key: verifierOf(wKey), url: "in-process" }],
    requestCosignature: async (_url, body) => witness.addCheckpoint(body),
    clock: () => new Date(),
    log: { info: () => {}, warn: (e, f) => console.error(e, f) },
  };
}

async function plainTable(db: Kysely<Database>): Promise<void> {
  await sql`create table bench_plain (idx int8 primary key, leaf bytea not null, leaf_hash bytea not null,
    subtree_hashes bytea not null, event_type int4 not null, created_at timestamptz not null default now())`.execute(
    db,
  );
}

/** Plain batched INSERTs, rows shaped like audit leaves (same columns and sizes), one transaction a batch. */
async function plainInserts(db: Kysely<Database>, leaves: Uint8Array[]): Promise<number> {
  const rows = leaves.map((leaf, i) => ({
    idx: BigInt(i),
    leaf,
    leaf_hash: sha256(leaf),
    subtree_hashes: new Uint8Array(32 * (i % 2)),
    event_type: 9,
  }));
  const t = performance.now();
  for (let i = 0; i < rows.length; i += BATCH) {
    await db.transaction().execute(async (trx) => {
      await (trx as unknown as Kysely<{ bench_plain: (typeof rows)[number] }>)
        .insertInto("bench_plain")
        .values(rows.slice(i, i + BATCH))
        .execute();
    });
  }
  return rows.length / ((performance.now() - t) / 1000);
}

async function appendRate(db: Kysely<Database>, leaves: Uint8Array[]): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < leaves.length; i += BATCH) await appendLeaves(db, leaves.slice(i, i + BATCH));
  return leaves.length / ((performance.now() - t) / 1000);
}

async function freshPg(): Promise<{ handle: DbHandle; drop: () => Promise<void> }> {
  const name = `relink_bench_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = await createDb({ kind: "postgres", connectionString: SERVER, maxConnections: 1 });
  await sql`create database ${sql.raw(name)}`.execute(admin.db);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  const handle = await createDb({ kind: "postgres", connectionString: url.toString() });
  await migrateToLatest(handle.db);
  return {
    handle,
    drop: async () => {
      await handle.close();
      await sql`drop database if exists ${sql.raw(name)} with (force)`.execute(admin.db);
      await admin.close();
    },
  };
}

/** Loads 10^6 leaves (hashes and subtree hashes computed in memory) with unnest, 20k rows a statement. */
async function bulkLoad(db: Kysely<Database>, n: number): Promise<void> {
  const template = encodeAuditEvent(event(0));
  const tree = new MemoryTree();
  const CHUNK = 20_000;
  for (let start = 0; start < n; start += CHUNK) {
    const idx: string[] = [];
    const leaf: Buffer[] = [];
    const lh: Buffer[] = [];
    const sub: Buffer[] = [];
    for (let i = start; i < Math.min(n, start + CHUNK); i++) {
      const bytes = template.slice();
      new DataView(bytes.buffer).setBigUint64(7, BigInt(1_764_144_000_000 + i));
      const h = hashLeaf(bytes);
      const completed = tree.append(h);
      idx.push(String(i));
      leaf.push(Buffer.from(bytes));
      lh.push(Buffer.from(h));
      sub.push(Buffer.concat(completed));
    }
    await sql`insert into audit_log_leaf (idx, leaf, leaf_hash, subtree_hashes, event_type)
      select i, l, h, s, 9 from unnest(${idx}::int8[], ${leaf}::bytea[], ${lh}::bytea[], ${sub}::bytea[]) as t(i, l, h, s)`.execute(
      db,
    );
  }
}

function time<T>(f: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = f();
  return { ms: performance.now() - t, value };
}

async function main(): Promise<void> {
  const out: Record<string, number> = {};
  const rows: [string, string, string, string][] = [];

  // Baseline: raw SHA-256 of 32-byte inputs.
  const input = rnd(32);
  const H = 200_000;
  const sh = time(() => {
    for (let i = 0; i < H; i++) sha256(input);
  });
  out["sha256_per_s"] = Math.round(H / (sh.ms / 1000));

  // PostgreSQL: appends vs plain inserts.
  const N_PG = 20_000;
  const pg = await freshPg();
  try {
    await plainTable(pg.handle.db);
    const leaves = Array.from({ length: N_PG }, (_, i) => encodeAuditEvent(event(i)));
    await appendRate(pg.handle.db, leaves.slice(0, BATCH)); // warm-up (and a non-empty tree)
    await plainInserts(pg.handle.db, leaves.slice(0, BATCH));
    await sql`truncate bench_plain`.execute(pg.handle.db);
    out["raw_inserts_per_s_pg"] = Math.round(await plainInserts(pg.handle.db, leaves));
    out["appends_per_s_pg"] = Math.round(await appendRate(pg.handle.db, leaves));
    rows.push([
      "appends/s, PostgreSQL (batches of 1000)",
      String(out["appends_per_s_pg"]),
      `plain INSERTs ${out["raw_inserts_per_s_pg"]}/s`,
      (out["appends_per_s_pg"]! / out["raw_inserts_per_s_pg"]!).toFixed(2),
    ]);
  } finally {
    await pg.drop();
  }

  // PGlite: appends vs plain inserts.
  const N_LITE = 10_000;
  const lite = await createDb({ kind: "pglite" });
  try {
    await migrateToLatest(lite.db);
    await plainTable(lite.db);
    const leaves = Array.from({ length: N_LITE }, (_, i) => encodeAuditEvent(event(i)));
    out["raw_inserts_per_s_pglite"] = Math.round(await plainInserts(lite.db, leaves));
    out["appends_per_s_pglite"] = Math.round(await appendRate(lite.db, leaves));
    rows.push([
      "appends/s, PGlite (batches of 1000)",
      String(out["appends_per_s_pglite"]),
      `plain INSERTs ${out["raw_inserts_per_s_pglite"]}/s`,
      (out["appends_per_s_pglite"]! / out["raw_inserts_per_s_pglite"]!).toFixed(2),
    ]);
  } finally {
    await lite.close();
  }

  // 10^6 leaves on PostgreSQL: proof generation from storage and receipt verification.
  const big = await freshPg();
  try {
    const t0 = performance.now();
    await bulkLoad(big.handle.db, MILLION);
    out["bulk_load_s_1m"] = Math.round((performance.now() - t0) / 100) / 10;
    await sql`analyze audit_log_leaf`.execute(big.handle.db);
    const deps = auditDeps(big.handle.db);
    await publishCheckpoint(deps);
    const size = BigInt(MILLION);
    const P = 300;
    for (let i = 0; i < 20; i++)
      await proveInclusion(deps, BigInt(Math.floor(Math.random() * MILLION)), size);
    const tp = performance.now();
    for (let i = 0; i < P; i++) await proveInclusion(deps, BigInt(Math.floor(Math.random() * MILLION)), size);
    out["proof_ms_1m"] = Math.round(((performance.now() - tp) / P) * 1000) / 1000;

    const receipt = JSON.stringify(await buildReceipt(deps, 777_777n));
    const trust = {
      logKey: formatVerifierKey(verifierOf(logKey)),
      witnesses: [formatVerifierKey(verifierOf(wKey))],
      k: 1,
    };
    if (!verifyReceipt(receipt, trust).ok) throw new Error("receipt at 10^6 does not verify");
    const V = 300;
    for (let i = 0; i < 20; i++) verifyReceipt(receipt, trust);
    const tv = time(() => {
      for (let i = 0; i < V; i++) verifyReceipt(receipt, trust);
    });
    out["verify_sync_ms"] = Math.round((tv.ms / V) * 1000) / 1000;
    for (let i = 0; i < 20; i++) await verifyReceiptAsync(receipt, trust);
    const ta = performance.now();
    for (let i = 0; i < V; i++) {
      if (!(await verifyReceiptAsync(receipt, trust)).ok) throw new Error("async verification failed");
    }
    out["verify_ms"] = Math.round(((performance.now() - ta) / V) * 1000) / 1000;
    const shaMs = 1000 / out["sha256_per_s"]!;
    rows.push([
      "inclusion proof from storage, 10^6 leaves (ms)",
      String(out["proof_ms_1m"]),
      `SHA-256(32 B) ${(shaMs * 1000).toFixed(2)} µs`,
      `${Math.round(out["proof_ms_1m"]! / shaMs)}× one hash`,
    ]);
    rows.push([
      "receipt verification (verifyReceiptAsync, WebCrypto Ed25519), 10^6 leaves, 1 cosignature (ms)",
      String(out["verify_ms"]),
      `SHA-256(32 B) ${(shaMs * 1000).toFixed(2)} µs`,
      `${Math.round(out["verify_ms"]! / shaMs)}× one hash`,
    ]);
    rows.push([
      "receipt verification (verifyReceipt, pure-JS noble Ed25519), same receipt (ms)",
      String(out["verify_sync_ms"]),
      `SHA-256(32 B) ${(shaMs * 1000).toFixed(2)} µs`,
      `${Math.round(out["verify_sync_ms"]! / shaMs)}× one hash`,
    ]);
  } finally {
    await big.drop();
  }

  console.log("\n| measure | value | same-run baseline | ratio |\n|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log(`| bulk load of 10^6 leaves (s) | ${out["bulk_load_s_1m"]} | | |`);
  console.log(`| raw SHA-256 of 32-byte inputs (/s) | ${out["sha256_per_s"]} | | |`);
  const goals = {
    appends_ge_half_plain_pg: out["appends_per_s_pg"]! >= 0.5 * out["raw_inserts_per_s_pg"]!,
    appends_ge_10k_pg: out["appends_per_s_pg"]! >= 10_000,
    proof_le_2ms: out["proof_ms_1m"]! <= 2,
    verify_le_1ms: out["verify_ms"]! <= 1,
  };
  console.log(`goals: ${JSON.stringify(goals)}`);
  console.log(`BENCH tlog ${JSON.stringify(out)}`);
}

await main();
