/**
 * Checkpoints and cosignatures: sign a checkpoint for the current tree after checking it extends the previous
 * one, ask every configured witness to cosign (C2SP tlog-witness add-checkpoint), store what verifies, and a
 * scheduler for the hub's cadence.
 */

import {
  type AuditCheckpointRow,
  auditLogSize,
  type Db,
  getAuditCheckpoint,
  insertAuditCheckpoint,
  insertAuditCosignatures,
  lastCosignedSize,
  latestAuditCheckpoint,
  listAuditCosignatures,
} from "@relink/db";
import { RelinkError } from "@relink/protocol";
import {
  bytesEqual,
  consistencyProof,
  formatAddCheckpointRequest,
  matchesKey,
  parseDecimal,
  parseNote,
  parseSignatureLine,
  signCheckpoint,
  treeRoot,
  verifyConsistency,
  verifyCosignatureBytes,
} from "@relink/tlog";

import { type AuditLogDeps, nodeReader, type WitnessEndpoint } from "./deps.ts";

export interface PublishedCheckpoint {
  size: bigint;
  root: Uint8Array;
  /** The signed note with every stored cosignature appended: what clients receive. */
  note: string;
  created: boolean;
  cosignatures: number;
}

/** The stored checkpoint note with its cosignature lines, as served to clients. */
export async function cosignedCheckpoint(db: Db, cp: AuditCheckpointRow): Promise<string> {
  const cosigs = await listAuditCosignatures(db, cp.size);
  return cp.note + cosigs.map((c) => c.signatureLine).join("");
}

/**
 * Signs a checkpoint for the current tree (unless the latest checkpoint already has this size), after
 * checking it is consistent with the previous one, then asks every configured witness to cosign and stores
 * the verified cosignatures. Witness failures are logged, never fatal.
 */
export async function publishCheckpoint(deps: AuditLogDeps): Promise<PublishedCheckpoint> {
  const { db } = deps;
  const read = nodeReader(db);
  // Each round trip is on the critical path of a receipt published on demand: independent reads go
  // together, and a checkpoint just inserted is not read back.
  const [size, latest] = await Promise.all([auditLogSize(db), latestAuditCheckpoint(db)]);
  let cp: AuditCheckpointRow;
  let created = false;
  if (latest && latest.size > size) {
    throw new RelinkError("INTERNAL", `latest checkpoint has ${latest.size} leaves, the log ${size}`);
  }
  if (latest && latest.size === size) {
    cp = latest;
  } else {
    const root = await treeRoot(size, read);
    if (latest && latest.size > 0n) {
      const proof = await consistencyProof(latest.size, size, read);
      if (!verifyConsistency(latest.size, size, proof, latest.root, root)) {
        throw new RelinkError("INTERNAL", `stored tree at ${size} does not extend checkpoint ${latest.size}`);
      }
    }
    const note = signCheckpoint({ origin: deps.signer.name, size, root, extensions: [] }, deps.signer);
    created = await insertAuditCheckpoint(db, { size, root, note });
    // Not created: another publisher stored this size first; serve its row.
    cp = created ? { size, root, note, createdAt: deps.clock() } : (await getAuditCheckpoint(db, size))!;
    if (created) deps.log.info("audit.checkpoint", { size: size.toString() });
  }
  await collectCosignatures(deps, cp, created);
  const cosigs = await listAuditCosignatures(db, cp.size);
  return {
    size: cp.size,
    root: cp.root,
    note: cp.note + cosigs.map((c) => c.signatureLine).join(""),
    created,
    cosignatures: cosigs.length,
  };
}

/** Cosignature collections in flight, per database and checkpoint size: concurrent callers share one. */
const collecting = new WeakMap<object, Map<bigint, Promise<void>>>();

export function collectCosignatures(
  deps: AuditLogDeps,
  cp: AuditCheckpointRow,
  /** The caller has just inserted this checkpoint: it has no cosignatures yet (saves reading them). */
  fresh = false,
): Promise<void> {
  let running = collecting.get(deps.db);
  if (!running) {
    running = new Map();
    collecting.set(deps.db, running);
  }
  const m = running;
  const current = m.get(cp.size);
  if (current) return current;
  const p = collectMissingCosignatures(deps, cp, fresh).finally(() => m.delete(cp.size));
  m.set(cp.size, p);
  return p;
}

async function collectMissingCosignatures(
  deps: AuditLogDeps,
  cp: AuditCheckpointRow,
  fresh: boolean,
): Promise<void> {
  const have = fresh ? [] : await listAuditCosignatures(deps.db, cp.size);
  const text = parseNote(cp.note).text;
  await Promise.all(
    deps.witnesses
      .filter((w) => !have.some((c) => c.witness === w.key.name && bytesEqual(c.keyId, w.key.keyId)))
      .map(async (w) => {
        try {
          const line = await requestCosignature(deps, w, cp);
          if (!line) return;
          const sig = parseSignatureLine(line);
          const c = verifyCosignatureBytes(text, w.key, sig.signature);
          if (!c) throw new Error("cosignature does not verify");
          await insertAuditCosignatures(deps.db, [
            {
              size: cp.size,
              witness: w.key.name,
              keyId: w.key.keyId,
              signatureLine: sig.line,
              cosignedAt: new Date(Number(c.timestamp) * 1000),
            },
          ]);
        } catch (error) {
          deps.log.warn("audit.witness_failed", { witness: w.key.name, error: String(error) });
        }
      }),
  );
}

/** One add-checkpoint exchange; retries once with the witness's own size after a 409. */
async function requestCosignature(
  deps: AuditLogDeps,
  w: WitnessEndpoint,
  cp: AuditCheckpointRow,
): Promise<string | undefined> {
  let oldSize = (await lastCosignedSize(deps.db, w.key.name, w.key.keyId)) ?? 0n;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (oldSize > cp.size) throw new Error(`witness is ahead of this checkpoint (${oldSize} > ${cp.size})`);
    const proof =
      oldSize === 0n || oldSize === cp.size
        ? []
        : await consistencyProof(oldSize, cp.size, nodeReader(deps.db));
    const body = formatAddCheckpointRequest({ oldSize, proof, checkpoint: cp.note });
    const res = await deps.requestCosignature(w.url, body);
    if (res.status === 200) {
      const lines = res.body.split("\n").filter((l) => l.length > 0);
      const mine = lines.map(parseSignatureLine).find((s) => matchesKey(s, w.key));
      if (!mine) throw new Error("witness answered without a cosignature by its key");
      return mine.line;
    }
    if (res.status === 409 && res.contentType.startsWith("text/x.tlog.size")) {
      const theirs = parseDecimal(res.body.trim());
      if (theirs === undefined) throw new Error("witness sent a malformed size");
      oldSize = theirs;
      continue;
    }
    throw new Error(`witness refused: ${res.status} ${res.body.trim().slice(0, 200)}`);
  }
  throw new Error("witness kept refusing the old size");
}

/**
 * The cadence: call `tick()` from the hub's main loop. It publishes when the log has grown and at least
 * `intervalMs` passed since the last publication (by the injected clock), and otherwise only retries
 * missing cosignatures on the latest checkpoint.
 */
export function createCheckpointScheduler(
  deps: AuditLogDeps,
  options: { intervalMs: number },
): { tick(): Promise<PublishedCheckpoint | undefined> } {
  let lastPublished = Number.NEGATIVE_INFINITY;
  let running: Promise<PublishedCheckpoint | undefined> | undefined;
  const run = async (): Promise<PublishedCheckpoint | undefined> => {
    const now = deps.clock().getTime();
    if (now - lastPublished < options.intervalMs) return undefined;
    const latest = await latestAuditCheckpoint(deps.db);
    const size = await auditLogSize(deps.db);
    if (latest && latest.size === size) {
      await collectCosignatures(deps, latest);
      return undefined;
    }
    lastPublished = now;
    return publishCheckpoint(deps);
  };
  return {
    tick: () => {
      // Never two publications at once from one scheduler.
      running ??= run().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}
