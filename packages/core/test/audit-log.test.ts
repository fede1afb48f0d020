/**
 * The stored audit log on both backends: sequencing under concurrent appenders, checkpoints with witness
 * cosignatures, receipts, and the attacks — rows altered or deleted behind the triggers, forks.
 */
import { createDb, type Database, type DbHandle } from "@relink/db";
import { describeEachBackend } from "@relink/db/testing";
import {
  type AuditEvent,
  consistencyProof,
  formatVerifierKey,
  generateSignerKey,
  hashLeaf,
  MemoryTree,
  SIG_TYPE_COSIGNATURE_V1,
  signCheckpoint,
  verifierOf,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
  Witness,
} from "@relink/tlog";
import { type Kysely, sql } from "kysely";
import { expect, it } from "vitest";
import {
  type AuditLogDeps,
  appendEvents,
  buildReceipt,
  createCheckpointScheduler,
  latestCheckpoint,
  proveConsistency,
  proveInclusion,
  publishCheckpoint,
  recordForkEvidence,
  verifyStoredLog,
} from "../src/audit/audit-log.ts";
import type { CosignRequester } from "../src/audit/witness-client.ts";

const ORIGIN = "relink.example/audit-log/v1";
function seeded(seed: number): (n: number) => Uint8Array {
  return (n) => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 17) & 255);
}
const logKey = generateSignerKey(ORIGIN, seeded(1));
const w1 = generateSignerKey("w1.member.example/witness", seeded(2), SIG_TYPE_COSIGNATURE_V1);
const w2 = generateSignerKey("w2.member.example/witness", seeded(3), SIG_TYPE_COSIGNATURE_V1);

function event(i: number): AuditEvent {
  return {
    type: i % 7 === 0 ? "denial" : "lookup",
    time: Date.UTC(2026, 10, 26) + i,
    member: "0b5f2f3e-8c1d-4a7e-9d8e-1f2a3b4c5d6e",
    purpose: "debt_collection",
    inputSize: i,
    outputCount: i % 3,
    decision: i % 7 === 0 ? "deny" : "allow",
    ruleIds: ["lookup.consent"],
  };
}

function witnesses(now = () => 1764144000n) {
  const logs = [{ origin: ORIGIN, key: verifierOf(logKey) }];
  const byUrl = new Map([
    ["http://w1.invalid", new Witness({ key: w1, logs, now })],
    ["http://w2.invalid", new Witness({ key: w2, logs, now })],
  ]);
  const requester: CosignRequester = async (url, body) => {
    const r = byUrl.get(url)!.addCheckpoint(body);
    return { status: r.status, contentType: r.contentType, body: r.body };
  };
  return { byUrl, requester };
}

function depsFor(db: Kysely<Database>, requester: CosignRequester, clock = () => new Date()): AuditLogDeps {
  return {
    db,
    signer: logKey,
    witnesses: [
      { key: verifierOf(w1), url: "http://w1.invalid" },
      { key: verifierOf(w2), url: "http://w2.invalid" },
    ],
    requestCosignature: requester,
    clock,
    log: { info: () => {}, warn: () => {} },
  };
}

const trust = {
  logKey: formatVerifierKey(verifierOf(logKey)),
  witnesses: [formatVerifierKey(verifierOf(w1)), formatVerifierKey(verifierOf(w2))],
  k: 2,
};

describeEachBackend("audit log: append, checkpoint, prove, receipt", ({ db }) => {
  it("appends batches with consecutive indices and the RFC 9162 root of the same leaves", async () => {
    const { requester } = witnesses();
    const deps = depsFor(db(), requester);
    expect(await appendEvents(db(), [event(0), event(1), event(2)])).toEqual({ first: 0n, size: 3n });
    expect(
      await appendEvents(
        db(),
        Array.from({ length: 40 }, (_, i) => event(3 + i)),
      ),
    ).toEqual({
      first: 3n,
      size: 43n,
    });
    const mem = new MemoryTree();
    const { encodeAuditEvent } = await import("@relink/tlog");
    for (let i = 0; i < 43; i++) mem.append(hashLeaf(encodeAuditEvent(event(i))));
    const cp = await publishCheckpoint(deps);
    expect(cp).toMatchObject({ size: 43n, created: true, cosignatures: 2 });
    expect(cp.root).toEqual(mem.root());
    // Inclusion and consistency proofs straight from storage.
    for (const i of [0n, 17n, 42n]) {
      const proof = await proveInclusion(deps, i, 43n);
      expect(verifyInclusion(i, 43n, mem.node({ level: 0, index: i }), proof, mem.root())).toBe(true);
    }
    for (const from of [1n, 3n, 32n, 43n]) {
      const proof = await proveConsistency(deps, from, 43n);
      expect(verifyConsistency(from, 43n, proof, mem.root(from), mem.root())).toBe(true);
    }
    await expect(proveInclusion(deps, 43n, 43n)).rejects.toThrow(/index/);
    await expect(proveInclusion(deps, 0n, 44n)).rejects.toThrow(/size/);
  });

  it("publishes again only when the log grew; witnesses check consistency from what they cosigned", async () => {
    const { requester, byUrl } = witnesses();
    const deps = depsFor(db(), requester);
    const again = await publishCheckpoint(deps);
    expect(again.created).toBe(false);
    await appendEvents(db(), [event(43)]);
    const next = await publishCheckpoint(deps);
    expect(next).toMatchObject({ size: 44n, created: true });
    // These witness objects are fresh (old size 0 for them): the hub follows their 409 and proves from 0 → 44.
    expect(next.cosignatures).toBe(2);
    expect(byUrl.get("http://w1.invalid")!.state.logs[ORIGIN]?.size).toBe("44");
    expect((await latestCheckpoint(deps))?.split("\u2014").length).toBe(4);
  });

  it("builds receipts that verify offline with 2 of 2 witnesses, publishing a checkpoint on demand", async () => {
    const { requester } = witnesses();
    const deps = depsFor(db(), requester);
    const { first } = await appendEvents(db(), [event(44)]);
    const receipt = await buildReceipt(deps, first);
    expect(receipt.index).toBe(44);
    const v = verifyReceipt(JSON.stringify(receipt), trust);
    expect(v).toMatchObject({ ok: true, event: { inputSize: 44 } });
    const old = await buildReceipt(deps, 5n);
    expect(verifyReceipt(JSON.stringify(old), trust).ok).toBe(true);
    await expect(
      verifyStoredLog(deps, { logKey: verifierOf(logKey), witnesses: [verifierOf(w1), verifierOf(w2)] }),
    ).resolves.toMatchObject({ ok: true, size: 45n });
  });

  it("publishes on a cadence by the injected clock", async () => {
    let now = Date.UTC(2026, 10, 26, 9);
    const { requester } = witnesses();
    const deps = depsFor(db(), requester, () => new Date(now));
    const cadence = createCheckpointScheduler(deps, { intervalMs: 60_000 });
    await appendEvents(db(), [event(45)]);
    expect((await cadence.tick())?.size).toBe(46n);
    await appendEvents(db(), [event(46)]);
    now += 30_000;
    expect(await cadence.tick()).toBeUndefined(); // too soon
    now += 30_000;
    expect((await cadence.tick())?.size).toBe(47n);
    now += 60_000;
    expect(await cadence.tick()).toBeUndefined(); // nothing new
  });

  it("refuses UPDATE, DELETE and TRUNCATE on every audit table", async () => {
    for (const stmt of [
      sql`update audit_log_leaf set event_type = 1 where idx = 0`,
      sql`delete from audit_log_leaf where idx = 0`,
      sql`truncate audit_log_leaf`,
      sql`update audit_log_checkpoint set note = 'x'`,
      sql`delete from audit_log_cosignature`,
      sql`truncate audit_log_fork_evidence`,
    ]) {
      await expect(stmt.execute(db())).rejects.toThrow(/append-only/);
    }
  });
});

describeEachBackend("audit log: concurrent appenders", ({ db, handle, backend }) => {
  it("assigns indices with no gaps and no duplicates under many parallel appenders", async () => {
    // On PostgreSQL, a second pool makes the appenders race across connections, as separate processes would.
    const extra: DbHandle | undefined =
      backend === "postgres"
        ? await createDb({ kind: "postgres", connectionString: handle().connectionString! })
        : undefined;
    try {
      const pools = extra ? [db(), extra.db] : [db()];
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          appendEvents(
            pools[i % pools.length]!,
            Array.from({ length: 1 + (i % 5) }, (_, j) => event(i * 10 + j)),
          ),
        ),
      );
      const total = results.reduce((n, r) => n + Number(r.size - r.first), 0);
      const ranges = results.map((r) => [Number(r.first), Number(r.size)]).sort((a, b) => a[0]! - b[0]!);
      let expected = 0;
      for (const [first, size] of ranges) {
        expect(first).toBe(expected);
        expected = size!;
      }
      expect(expected).toBe(total);
      const { rows } = await sql<{
        n: bigint;
        mx: bigint;
      }>`select count(*)::int8 as n, max(idx) as mx from audit_log_leaf`.execute(db());
      expect(rows[0]).toEqual({ n: BigInt(total), mx: BigInt(total - 1) });
      expect(await verifyStoredLog({ db: db() }, { logKey: verifierOf(logKey) })).toMatchObject({ ok: true });
    } finally {
      await extra?.close();
    }
  });
});

/** Runs SQL with the append-only triggers off, as a superuser bypassing them would. */
async function behindTheTriggers(db: Kysely<Database>, statement: ReturnType<typeof sql>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`alter table audit_log_leaf disable trigger all`.execute(trx);
    await statement.execute(trx);
    await sql`alter table audit_log_leaf enable trigger all`.execute(trx);
  });
}

describeEachBackend("audit log: tampering behind the triggers", ({ db }) => {
  const key = { logKey: verifierOf(logKey) };
  it("names the index of an altered leaf", async () => {
    const { requester } = witnesses();
    await appendEvents(
      db(),
      Array.from({ length: 30 }, (_, i) => event(i)),
    );
    await publishCheckpoint(depsFor(db(), requester));
    expect(await verifyStoredLog({ db: db() }, key)).toMatchObject({ ok: true, size: 30n });
    await behindTheTriggers(
      db(),
      sql`update audit_log_leaf set leaf = set_byte(leaf, 20, get_byte(leaf, 20) # 1) where idx = 13`,
    );
    expect(await verifyStoredLog({ db: db() }, key)).toMatchObject({
      ok: false,
      problem: "leaf_hash_mismatch",
      index: 13n,
    });
  });

  it("names the index when the leaf and its hash are rewritten together (the subtree hashes disagree)", async () => {
    // Restore 13 first, then rewrite 21's bytes and hash consistently; the stored parent hashes no longer fit.
    const { encodeAuditEvent } = await import("@relink/tlog");
    const good = encodeAuditEvent(event(13));
    await behindTheTriggers(db(), sql`update audit_log_leaf set leaf = ${good} where idx = 13`);
    const forged = encodeAuditEvent({ ...event(21), outputCount: 999 });
    await behindTheTriggers(
      db(),
      sql`update audit_log_leaf set leaf = ${forged}, leaf_hash = ${hashLeaf(forged)} where idx = 21`,
    );
    expect(await verifyStoredLog({ db: db() }, key)).toMatchObject({
      ok: false,
      problem: "subtree_hash_mismatch",
      index: 21n,
    });
  });

  it("detects a consistent rewrite of a whole subtree through the signed checkpoint", async () => {
    // Rewrite leaf 21 with all hashes recomputed: only the signed root can tell.
    const { encodeAuditEvent } = await import("@relink/tlog");
    const tree = new MemoryTree();
    const subtrees: Uint8Array[][] = [];
    for (let i = 0; i < 30; i++) {
      const leaf =
        i === 21 ? encodeAuditEvent({ ...event(21), outputCount: 999 }) : encodeAuditEvent(event(i));
      subtrees.push(tree.append(hashLeaf(leaf)));
    }
    for (let idx = 21; idx < 30; idx++) {
      const joined = new Uint8Array(subtrees[idx]!.length * 32);
      for (const [i, h] of subtrees[idx]!.entries()) joined.set(h, i * 32);
      await behindTheTriggers(
        db(),
        sql`update audit_log_leaf set subtree_hashes = ${joined} where idx = ${idx}`,
      );
    }
    // Every stored hash now agrees with the forged leaf: only the signed root can tell.
    expect(await verifyStoredLog({ db: db() }, key)).toMatchObject({
      ok: false,
      problem: "checkpoint_root_mismatch",
      checkpointSize: 30n,
    });
  });

  it("names the index of a deleted leaf", async () => {
    await behindTheTriggers(db(), sql`delete from audit_log_leaf where idx = 7`);
    expect(await verifyStoredLog({ db: db() }, key)).toMatchObject({
      ok: false,
      problem: "missing_leaf",
      index: 7n,
    });
  });
});

describeEachBackend("audit log: forks", ({ db }) => {
  it("keeps both signed notes of a same-size fork as evidence; consistent notes are not a fork", async () => {
    const { requester, byUrl } = witnesses();
    const deps = depsFor(db(), requester);
    await appendEvents(
      db(),
      Array.from({ length: 10 }, (_, i) => event(i)),
    );
    const honest = (await publishCheckpoint(deps)).note;
    // A split view: the same key signs a different tree of the same size.
    const other = new MemoryTree();
    for (let i = 0; i < 10; i++) other.append(hashLeaf(new Uint8Array([i, 1, 2, 3])));
    const fork = signCheckpoint({ origin: ORIGIN, size: 10n, root: other.root(), extensions: [] }, logKey);
    // The witness that cosigned the honest view refuses the fork and keeps both notes.
    const { formatAddCheckpointRequest } = await import("@relink/tlog");
    const res = byUrl
      .get("http://w1.invalid")!
      .addCheckpoint(formatAddCheckpointRequest({ oldSize: 10n, proof: [], checkpoint: fork }));
    expect(res.status).toBe(409);
    expect(byUrl.get("http://w1.invalid")!.state.evidence[0]).toMatchObject({
      kind: "same_size_conflict",
      conflictingNote: fork,
    });

    const { id } = await recordForkEvidence(deps, {
      logKey: verifierOf(logKey),
      noteA: honest,
      noteB: fork,
      detectedBy: "test",
    });
    const stored = await db()
      .selectFrom("audit_log_fork_evidence")
      .select(["id", "note_a", "note_b", "tree_size"])
      .execute();
    expect(stored).toEqual([{ id, note_a: honest, note_b: fork, tree_size: 10n }]);
    // The same evidence again — in either order, by anyone — is kept once: the store does not grow.
    for (const [noteA, noteB] of [
      [honest, fork],
      [fork, honest],
      [honest, fork],
    ] as const) {
      const again = await recordForkEvidence(deps, {
        logKey: verifierOf(logKey),
        noteA,
        noteB,
        detectedBy: "again",
      });
      expect(again.id).toBe(id);
    }
    expect(await db().selectFrom("audit_log_fork_evidence").select("id").execute()).toHaveLength(1);
    await expect(sql`delete from audit_log_fork_evidence`.execute(db())).rejects.toThrow(/append-only/);

    // A larger, honest checkpoint with a valid proof is not a fork.
    await appendEvents(db(), [event(10), event(11)]);
    const bigger = (await publishCheckpoint(deps)).note;
    const proof = await proveConsistency(deps, 10n, 12n);
    await expect(
      recordForkEvidence(deps, {
        logKey: verifierOf(logKey),
        noteA: honest,
        noteB: bigger,
        proof,
        detectedBy: "test",
      }),
    ).rejects.toThrow(/not shown to conflict/);
    // The forked 10 cannot be connected to the honest 12.
    const forkProof = await consistencyProof(10n, 12n, async (ids) => ids.map(() => new Uint8Array(32)));
    await expect(
      recordForkEvidence(deps, {
        logKey: verifierOf(logKey),
        noteA: fork,
        noteB: bigger,
        proof: forkProof,
        detectedBy: "test",
      }),
    ).resolves.toHaveProperty("id");
  });
});
