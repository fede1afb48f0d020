/**
 * Threat T6 (issue #15.5): the hub's stored audit log changed behind the append-only triggers — one byte of a
 * leaf, a deleted row, two rows swapped — is caught by all three checkers, each naming the first bad index:
 * the member's `relink log verify` and `relink log audit` (the CLI as a process, re-hashing leaves paged
 * through GET /log/leaves against the signed root), and the hub's scheduled self-audit (GET /healthz/log).
 * Runs on PGlite and on PostgreSQL (the hub in this process, so the test can reach its database).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendEvents, buildReceipt, publishCheckpoint } from "@relink/core";
import type { Database } from "@relink/db";
import { freshPostgres, type TestDb, testDatabaseUrl } from "@relink/db/testing";
import {
  encodeAuditEvent,
  formatVerifierKey,
  generateSignerKey,
  hashLeaf,
  MemoryTree,
  verifierOf,
} from "@relink/tlog";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningHub, startHub } from "../src/hub.ts";
import { relinkCli } from "./helpers.ts";

const ORIGIN = "relink.example/audit-log/v1";
const SIZE = 40;

const relink = relinkCli;

const event = (i: number) => ({
  type: "lookup" as const,
  time: Date.UTC(2026, 11, 3) + i,
  member: "0b5f2f3e-8c1d-4a7e-9d8e-1f2a3b4c5d6e",
  purpose: "debt_collection",
  inputSize: 1,
  outputCount: i % 5,
  decision: "allow" as const,
  ruleIds: ["lookup.consent"],
});

/** Runs statements with the append-only triggers off, as a superuser bypassing them would. */
async function behindTheTriggers(
  db: Kysely<Database>,
  ...statements: ReturnType<typeof sql>[]
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`alter table audit_log_leaf disable trigger all`.execute(trx);
    for (const s of statements) await s.execute(trx);
    await sql`alter table audit_log_leaf enable trigger all`.execute(trx);
  });
}

const flipByte = (idx: number) =>
  sql`update audit_log_leaf set leaf = set_byte(leaf, 20, get_byte(leaf, 20) # 1) where idx = ${idx}`;
const swapRows = (a: number, b: number) =>
  sql`update audit_log_leaf t set leaf = o.leaf, leaf_hash = o.leaf_hash
      from audit_log_leaf o where (t.idx = ${a} and o.idx = ${b}) or (t.idx = ${b} and o.idx = ${a})`;

for (const backend of ["pglite", "postgres"] as const) {
  const suite = backend === "postgres" && !testDatabaseUrl() ? describe.skip : describe;
  suite(`a tampered audit log is caught and the bad index named [${backend}]`, () => {
    const dir = mkdtempSync(join(tmpdir(), "relink-log-integrity-"));
    const home = join(dir, "member");
    const logKey = generateSignerKey(ORIGIN, (n) => crypto.getRandomValues(new Uint8Array(n)));
    const vkey = formatVerifierKey(verifierOf(logKey));
    let server: TestDb | undefined;
    let hub: RunningHub;
    const db = () => hub.db.db;
    const verify = () => relink(["log", "verify", "--home", home]);
    const audit = () => relink(["log", "audit", "--home", home, "--page-size", "7"]);
    const health = async () => {
      const res = await fetch(`${hub.url}/healthz/log`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    beforeAll(async () => {
      if (backend === "postgres") server = await freshPostgres(testDatabaseUrl()!, { migrate: false });
      hub = await startHub({
        db: server ? { kind: "postgres", connectionString: server.connectionString! } : { kind: "pglite" },
        log: { info: () => {}, warn: () => {}, error: () => {} },
        auditLog: { signer: logKey, witnesses: [], checkpointIntervalMs: 0, integrityIntervalMs: 0 },
      });
      await appendEvents(
        db(),
        Array.from({ length: SIZE }, (_, i) => event(i)),
      );
      await publishCheckpoint(hub.audit!);
      const init = await relink(["init", "--hub", hub.url, "--log-key", vkey, "--home", home]);
      expect(init.code).toBe(0);
      // A receipt the member kept from an earlier query (as every command now does).
      mkdirSync(join(home, "receipts"), { recursive: true });
      const receipt = await buildReceipt(hub.audit!, 5n);
      writeFileSync(join(home, "receipts", "000000000005.json"), JSON.stringify(receipt));
    });

    afterAll(async () => {
      await hub?.close();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("an intact log passes all three checks", async () => {
      const v = await verify();
      expect(v.err).toBe("");
      expect(v.out).toMatch(
        new RegExp(
          `log OK: .* size ${SIZE} \\(first checkpoint\\).* ${SIZE} leaves re-hashed .*1 kept receipt`,
        ),
      );
      expect(v.code).toBe(0);
      const a = await audit();
      expect(a.out).toMatch(new RegExp(`log audit OK: all ${SIZE} leaves`));
      expect(a.code).toBe(0);
      expect(await hub.integrity!.run()).toMatchObject({ state: "ok", size: BigInt(SIZE) });
      expect(await health()).toMatchObject({ status: 200, body: { state: "ok", size: String(SIZE) } });
    });

    it("one byte of leaf 13 changed: verify, audit and the hub's self-audit name index 13", async () => {
      await behindTheTriggers(db(), flipByte(13));
      const v = await verify();
      expect(v.code).toBe(1);
      expect(v.err).toMatch(/log TAMPERED: leaf 13:/);
      const a = await audit();
      expect(a.code).toBe(1);
      expect(a.err).toMatch(/log audit FAILED: leaf 13:/);
      expect(await hub.integrity!.run()).toMatchObject({
        state: "failed",
        problem: "leaf_hash_mismatch",
        index: 13n,
      });
      expect(await health()).toMatchObject({ status: 503, body: { state: "failed", index: "13" } });
      await behindTheTriggers(db(), flipByte(13));
      expect((await verify()).code).toBe(0);
    });

    it("--incremental still catches a changed leaf the member holds a receipt for", async () => {
      await behindTheTriggers(db(), flipByte(5));
      const v = await relink(["log", "verify", "--home", home, "--incremental"]);
      expect(v.code).toBe(1);
      expect(v.err).toMatch(/log TAMPERED: leaf 5: the hub serves other bytes/);
      await behindTheTriggers(db(), flipByte(5));
    });

    it("a deleted row: all three name its index", async () => {
      const row = await db()
        .selectFrom("audit_log_leaf")
        .selectAll()
        .where("idx", "=", 7n)
        .executeTakeFirstOrThrow();
      await behindTheTriggers(db(), sql`delete from audit_log_leaf where idx = 7`);
      const v = await verify();
      expect(v.code).toBe(1);
      expect(v.err).toMatch(/log TAMPERED: leaf 7: missing/);
      const a = await audit();
      expect(a.err).toMatch(/log audit FAILED: leaf 7:/);
      expect(await hub.integrity!.run()).toMatchObject({
        state: "failed",
        problem: "missing_leaf",
        index: 7n,
      });
      await db().insertInto("audit_log_leaf").values(row).execute();
      expect((await audit()).code).toBe(0);
    });

    it("two rows swapped (bytes and hashes together): all three name the lower index", async () => {
      await behindTheTriggers(db(), swapRows(11, 29));
      const v = await verify();
      expect(v.code).toBe(1);
      expect(v.err).toMatch(/log TAMPERED: leaf 11: the subtree hashes it completes differ/);
      const a = await audit();
      expect(a.err).toMatch(/log audit FAILED: leaf 11:/);
      expect(await hub.integrity!.run()).toMatchObject({ state: "failed", index: 11n });
      await behindTheTriggers(db(), swapRows(11, 29));
      expect(await hub.integrity!.run()).toMatchObject({ state: "ok" });
      expect((await verify()).code).toBe(0);
    });

    it("leaf 21 and every stored hash rewritten consistently: only the signed root tells, and it does", async () => {
      const rows = await db()
        .selectFrom("audit_log_leaf")
        .selectAll()
        .where("idx", ">=", 21n)
        .orderBy("idx")
        .execute();
      const tree = new MemoryTree();
      const forged = encodeAuditEvent({ ...event(21), outputCount: 999 });
      const updates = [];
      for (let i = 0; i < SIZE; i++) {
        const bytes = i === 21 ? forged : encodeAuditEvent(event(i));
        const completed = tree.append(hashLeaf(bytes));
        if (i < 21) continue;
        const joined = new Uint8Array(completed.length * 32);
        for (const [j, h] of completed.entries()) joined.set(h, j * 32);
        updates.push(
          sql`update audit_log_leaf set leaf = ${bytes}, leaf_hash = ${hashLeaf(bytes)}, subtree_hashes = ${joined} where idx = ${i}`,
        );
      }
      await behindTheTriggers(db(), ...updates);
      const v = await verify();
      expect(v.code).toBe(1);
      expect(v.err).toMatch(
        /log TAMPERED: leaf \d+: the leaves do not hash to the signed root of checkpoint 40/,
      );
      expect((await audit()).code).toBe(1);
      expect(await hub.integrity!.run()).toMatchObject({
        state: "failed",
        problem: "checkpoint_root_mismatch",
      });
      await behindTheTriggers(
        db(),
        ...rows.map(
          (r) =>
            sql`update audit_log_leaf set leaf = ${r.leaf}, leaf_hash = ${r.leaf_hash}, subtree_hashes = ${r.subtree_hashes} where idx = ${r.idx}`,
        ),
      );
      expect((await verify()).code).toBe(0);
    });
  });
}
