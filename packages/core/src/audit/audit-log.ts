/**
 * Audit-log use cases (docs/protocol/audit-log.md): append events as RFC 9162 leaves through one sequencer,
 * publish signed checkpoints and collect witness cosignatures, serve inclusion and consistency proofs, build
 * receipts, and re-verify everything stored. Storage is packages/db (repositories/audit-log.ts); hashing,
 * notes and receipts are packages/tlog. Dependencies come in as arguments; nothing here reads env or files.
 */
import {
  type AuditCheckpointRow,
  auditLogSize,
  checkpointCovering,
  type Database,
  type Db,
  getAuditCheckpoint,
  getAuditLeaf,
  insertAuditCheckpoint,
  insertAuditCosignatures,
  insertAuditLeaves,
  insertForkEvidence,
  lastCosignedSize,
  latestAuditCheckpoint,
  listAuditCheckpoints,
  listAuditCosignatures,
  listAuditLeaves,
  lockAuditLog,
  type NewAuditLeaf,
  readAuditNodes,
} from "@relink/db";
import {
  type AuditEvent,
  buildReceipt as assembleReceipt,
  bytesEqual,
  consistencyProof,
  decodeAuditEvent,
  encodeAuditEvent,
  formatAddCheckpointRequest,
  hashChildren,
  hashLeaf,
  inclusionProof,
  matchesKey,
  type NodeReader,
  NoteError,
  openCheckpoint,
  ProofError,
  parseDecimal,
  parseNote,
  parseSignatureLine,
  type Receipt,
  rangeNodes,
  type SignerKey,
  signCheckpoint,
  treeRoot,
  type VerifierKey,
  verifyConsistency,
  verifyCosignatureBytes,
  verifyCosignatures,
} from "@relink/tlog";
import type { Kysely, Transaction } from "kysely";
import type { CosignRequester } from "./witness-client.ts";

export interface WitnessEndpoint {
  /** The witness's cosignature verifier key (type 0x04). */
  key: VerifierKey;
  /** Its submission prefix; the request goes to `<url>/add-checkpoint`. */
  url: string;
}

export interface AuditLogger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
}

export interface AuditLogDeps {
  db: Kysely<Database>;
  /** The log's Ed25519 signer key (type 0x01); its name is the checkpoint origin. */
  signer: SignerKey;
  witnesses: readonly WitnessEndpoint[];
  requestCosignature: CosignRequester;
  clock: () => Date;
  log: AuditLogger;
}

export type AuditLogErrorCode = "not_found" | "out_of_range" | "inconsistent" | "not_a_fork";

export class AuditLogError extends Error {
  override readonly name = "AuditLogError";
  readonly code: AuditLogErrorCode;
  constructor(code: AuditLogErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const nodeReader =
  (db: Db): NodeReader =>
  (ids) =>
    readAuditNodes(db, ids);

async function inTransaction<T>(db: Db, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Transaction<Database>) : db.transaction().execute(fn);
}

// ---------------------------------------------------------------------------------------------------------
// Appending

/**
 * Appends leaves (already canonical bytes) as one batch. Runs inside `db` if it is a transaction — the
 * sequencer lock is then held until that transaction commits, so the caller's change and its audit leaf
 * land together — or in a transaction of its own. Returns the first index and the new size.
 */
export async function appendLeaves(
  db: Db,
  leaves: readonly Uint8Array[],
): Promise<{ first: bigint; size: bigint }> {
  return inTransaction(db, async (trx) => {
    await lockAuditLog(trx);
    const start = await auditLogSize(trx);
    if (leaves.length === 0) return { first: start, size: start };
    // The right border of the tree so far: the perfect subtrees covering [0, start), biggest first.
    const frontierIds = rangeNodes(0n, start);
    const frontierHashes = await readAuditNodes(trx, frontierIds);
    const stack = frontierIds.map((id, i) => ({ level: id.level, hash: frontierHashes[i]! }));
    const rows: NewAuditLeaf[] = leaves.map((leaf, j) => {
      const leafHash = hashLeaf(leaf);
      const completed: Uint8Array[] = [];
      let cur = { level: 0, hash: leafHash };
      while (stack.length > 0 && stack[stack.length - 1]!.level === cur.level) {
        const left = stack.pop()!;
        cur = { level: cur.level + 1, hash: hashChildren(left.hash, cur.hash) };
        completed.push(cur.hash);
      }
      stack.push(cur);
      const eventType = (leaf[5]! << 8) | leaf[6]!;
      return { index: start + BigInt(j), leaf, leafHash, subtreeHashes: completed, eventType };
    });
    await insertAuditLeaves(trx, rows);
    return { first: start, size: start + BigInt(leaves.length) };
  });
}

/** Encodes and appends audit events as one batch (see appendLeaves). */
export async function appendEvents(
  db: Db,
  events: readonly AuditEvent[],
): Promise<{ first: bigint; size: bigint }> {
  return appendLeaves(db, events.map(encodeAuditEvent));
}

// ---------------------------------------------------------------------------------------------------------
// Checkpoints and cosignatures

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
  const size = await auditLogSize(db);
  const latest = await latestAuditCheckpoint(db);
  let cp: AuditCheckpointRow;
  let created = false;
  if (latest && latest.size > size) {
    throw new AuditLogError("inconsistent", `latest checkpoint has ${latest.size} leaves, the log ${size}`);
  }
  if (latest && latest.size === size) {
    cp = latest;
  } else {
    const root = await treeRoot(size, read);
    if (latest && latest.size > 0n) {
      const proof = await consistencyProof(latest.size, size, read);
      if (!verifyConsistency(latest.size, size, proof, latest.root, root)) {
        throw new AuditLogError(
          "inconsistent",
          `stored tree at ${size} does not extend checkpoint ${latest.size}`,
        );
      }
    }
    const note = signCheckpoint({ origin: deps.signer.name, size, root, extensions: [] }, deps.signer);
    created = await insertAuditCheckpoint(db, { size, root, note });
    cp = (await getAuditCheckpoint(db, size))!;
    if (created) deps.log.info("audit.checkpoint", { size: size.toString() });
  }
  await collectCosignatures(deps, cp);
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

function collectCosignatures(deps: AuditLogDeps, cp: AuditCheckpointRow): Promise<void> {
  let running = collecting.get(deps.db);
  if (!running) {
    running = new Map();
    collecting.set(deps.db, running);
  }
  const m = running;
  const current = m.get(cp.size);
  if (current) return current;
  const p = collectMissingCosignatures(deps, cp).finally(() => m.delete(cp.size));
  m.set(cp.size, p);
  return p;
}

async function collectMissingCosignatures(deps: AuditLogDeps, cp: AuditCheckpointRow): Promise<void> {
  const have = await listAuditCosignatures(deps.db, cp.size);
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

// ---------------------------------------------------------------------------------------------------------
// Proofs and receipts

export async function latestCheckpoint(deps: Pick<AuditLogDeps, "db">): Promise<string | undefined> {
  const cp = await latestAuditCheckpoint(deps.db);
  return cp && cosignedCheckpoint(deps.db, cp);
}

export async function proveInclusion(
  deps: Pick<AuditLogDeps, "db">,
  index: bigint,
  size: bigint,
): Promise<Uint8Array[]> {
  const logSize = await auditLogSize(deps.db);
  if (size > logSize || index < 0n || index >= size) {
    throw new AuditLogError("out_of_range", `need 0 ≤ index < size ≤ ${logSize}`);
  }
  return inclusionProof(index, size, nodeReader(deps.db));
}

export async function proveConsistency(
  deps: Pick<AuditLogDeps, "db">,
  from: bigint,
  to: bigint,
): Promise<Uint8Array[]> {
  const logSize = await auditLogSize(deps.db);
  if (to > logSize || from < 1n || from > to)
    throw new AuditLogError("out_of_range", `need 0 < from ≤ to ≤ ${logSize}`);
  return consistencyProof(from, to, nodeReader(deps.db));
}

export async function getLeaf(
  deps: Pick<AuditLogDeps, "db">,
  index: bigint,
): Promise<{ index: bigint; leaf: Uint8Array; leafHash: Uint8Array }> {
  const row = await getAuditLeaf(deps.db, index);
  if (!row) throw new AuditLogError("not_found", `no leaf ${index}`);
  return { index: row.index, leaf: row.leaf, leafHash: row.leafHash };
}

/** At most this many leaves per page of the read API (`GET /log/leaves`). */
export const MAX_LEAVES_PAGE = 1000;

/**
 * Leaves `start` … `start + count - 1` (fewer at the end of the log), as stored, with the hashes stored beside
 * each (its leaf hash and the perfect subtrees it completes, like C2SP tlog-tiles' hash tiles): a monitor
 * re-hashes them against a signed root (`relink log audit`), and the first place where its recomputation and
 * the stored hashes disagree names the bad index. A gap in the answer is a missing row, for the client to name.
 */
export async function listLeaves(
  deps: Pick<AuditLogDeps, "db">,
  start: bigint,
  count: number,
): Promise<{ index: bigint; leaf: Uint8Array; leafHash: Uint8Array; subtreeHashes: Uint8Array[] }[]> {
  if (start < 0n || !Number.isSafeInteger(count) || count < 1 || count > MAX_LEAVES_PAGE)
    throw new AuditLogError("out_of_range", `need start ≥ 0 and 1 ≤ count ≤ ${MAX_LEAVES_PAGE}`);
  const size = await auditLogSize(deps.db);
  if (start >= size) throw new AuditLogError("out_of_range", `start must be below the log size ${size}`);
  const rows = await listAuditLeaves(deps.db, start, count);
  return rows
    .filter((r) => r.index < start + BigInt(count))
    .map((r) => ({ index: r.index, leaf: r.leaf, leafHash: r.leafHash, subtreeHashes: r.subtreeHashes }));
}

/**
 * A receipt for leaf `index`: the leaf, its inclusion proof and the latest cosigned checkpoint. If no
 * checkpoint covers the leaf yet, one is published first (on demand).
 */
export async function buildReceipt(deps: AuditLogDeps, index: bigint): Promise<Receipt> {
  const leaf = await getAuditLeaf(deps.db, index);
  if (!leaf) throw new AuditLogError("not_found", `no leaf ${index}`);
  let cp = await latestAuditCheckpoint(deps.db);
  if (!cp || cp.size <= index) {
    await publishCheckpoint(deps);
    cp = await checkpointCovering(deps.db, index);
    if (!cp) throw new AuditLogError("not_found", `no checkpoint covers leaf ${index}`);
  }
  // A checkpoint just published by the cadence may still be collecting its cosignatures: wait for them (or
  // ask the witnesses still missing), so that a receipt carries every cosignature the hub can get.
  if ((await listAuditCosignatures(deps.db, cp.size)).length < deps.witnesses.length) {
    await collectCosignatures(deps, cp);
  }
  const proof = await inclusionProof(index, cp.size, nodeReader(deps.db));
  return assembleReceipt({
    index,
    leaf: leaf.leaf,
    inclusionProof: proof,
    checkpoint: await cosignedCheckpoint(deps.db, cp),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Verification of what is stored, and fork evidence

export type StoredLogProblem =
  | "missing_leaf"
  | "leaf_hash_mismatch"
  | "leaf_malformed"
  | "subtree_hash_mismatch"
  | "event_type_mismatch"
  | "checkpoint_signature"
  | "checkpoint_beyond_log"
  | "checkpoint_root_mismatch"
  | "cosignature_invalid";

export type StoredLogVerification =
  | { ok: true; size: bigint; checkpoints: number }
  | { ok: false; problem: StoredLogProblem; index?: bigint; checkpointSize?: bigint; message: string };

/**
 * Recomputes the whole log from the stored leaf bytes: every leaf hash, every stored subtree hash, every
 * checkpoint's signature and root (and cosignatures by `witnesses`, if given). Names the first bad index.
 */
export async function verifyStoredLog(
  deps: Pick<AuditLogDeps, "db">,
  trust: { logKey: VerifierKey; witnesses?: readonly VerifierKey[] },
  options: { pageSize?: number } = {},
): Promise<StoredLogVerification> {
  const pageSize = options.pageSize ?? 5000;
  const checkpoints = await listAuditCheckpoints(deps.db);
  const rootsAt = new Map<bigint, Uint8Array>();
  const wanted = new Set(checkpoints.map((c) => c.size));
  const stack: { level: number; hash: Uint8Array }[] = [];
  const rootOfStack = (): Uint8Array => {
    let acc = stack[stack.length - 1]!.hash;
    for (let i = stack.length - 2; i >= 0; i--) acc = hashChildren(stack[i]!.hash, acc);
    return acc;
  };
  let next = 0n;
  for (;;) {
    const page = await listAuditLeaves(deps.db, next, pageSize);
    if (page.length === 0) break;
    for (const row of page) {
      const at = { index: next };
      if (row.index !== next)
        return { ok: false, problem: "missing_leaf", ...at, message: `leaf ${next} is missing` };
      const leafHash = hashLeaf(row.leaf);
      if (!bytesEqual(leafHash, row.leafHash)) {
        return {
          ok: false,
          problem: "leaf_hash_mismatch",
          ...at,
          message: `leaf ${next}: bytes do not match its hash`,
        };
      }
      try {
        decodeAuditEvent(row.leaf);
      } catch (error) {
        return {
          ok: false,
          problem: "leaf_malformed",
          ...at,
          message: `leaf ${next}: ${(error as Error).message}`,
        };
      }
      if (row.eventType !== ((row.leaf[5]! << 8) | row.leaf[6]!)) {
        return {
          ok: false,
          problem: "event_type_mismatch",
          ...at,
          message: `leaf ${next}: event type column`,
        };
      }
      const completed: Uint8Array[] = [];
      let cur = { level: 0, hash: leafHash };
      while (stack.length > 0 && stack[stack.length - 1]!.level === cur.level) {
        const left = stack.pop()!;
        cur = { level: cur.level + 1, hash: hashChildren(left.hash, cur.hash) };
        completed.push(cur.hash);
      }
      stack.push(cur);
      if (
        completed.length !== row.subtreeHashes.length ||
        completed.some((h, i) => !bytesEqual(h, row.subtreeHashes[i]!))
      ) {
        return {
          ok: false,
          problem: "subtree_hash_mismatch",
          ...at,
          message: `leaf ${next}: stored subtree hashes`,
        };
      }
      next++;
      if (wanted.has(next)) rootsAt.set(next, rootOfStack());
    }
  }
  for (const cp of checkpoints) {
    let opened: ReturnType<typeof openCheckpoint>;
    try {
      opened = openCheckpoint(cp.note, trust.logKey);
    } catch (error) {
      return {
        ok: false,
        problem: "checkpoint_signature",
        checkpointSize: cp.size,
        message: `checkpoint ${cp.size}: ${(error as Error).message}`,
      };
    }
    const c = opened.checkpoint;
    if (c.size !== cp.size || !bytesEqual(c.root, cp.root)) {
      return {
        ok: false,
        problem: "checkpoint_signature",
        checkpointSize: cp.size,
        message: "row differs from its note",
      };
    }
    if (cp.size > next) {
      return {
        ok: false,
        problem: "checkpoint_beyond_log",
        checkpointSize: cp.size,
        index: next,
        message: `checkpoint ${cp.size} but only ${next} leaves`,
      };
    }
    const root = cp.size === 0n ? undefined : rootsAt.get(cp.size);
    if (root && !bytesEqual(root, c.root)) {
      return {
        ok: false,
        problem: "checkpoint_root_mismatch",
        checkpointSize: cp.size,
        message: `the stored leaves do not hash to the signed root of checkpoint ${cp.size}`,
      };
    }
    if (trust.witnesses && trust.witnesses.length > 0) {
      const full = await cosignedCheckpoint(deps.db, cp);
      const v = verifyCosignatures(parseNote(full), trust.witnesses, 0);
      if (!v.ok)
        return { ok: false, problem: "cosignature_invalid", checkpointSize: cp.size, message: v.reason };
    }
  }
  return { ok: true, size: next, checkpoints: checkpoints.length };
}

/**
 * Keeps two checkpoints signed by this log's key that cannot both be true: the same size with different
 * roots, or (with the offered proof) a larger one that does not extend the smaller. Throws `not_a_fork`
 * when the two notes are consistent or not both validly signed.
 */
export async function recordForkEvidence(
  deps: Pick<AuditLogDeps, "db">,
  input: {
    logKey: VerifierKey;
    noteA: string;
    noteB: string;
    proof?: readonly Uint8Array[];
    detectedBy: string;
  },
): Promise<{ id: string }> {
  let a: ReturnType<typeof openCheckpoint>;
  let b: ReturnType<typeof openCheckpoint>;
  try {
    a = openCheckpoint(input.noteA, input.logKey);
    b = openCheckpoint(input.noteB, input.logKey);
  } catch (error) {
    if (error instanceof NoteError)
      throw new AuditLogError("not_a_fork", `not signed by the log: ${error.message}`);
    throw error;
  }
  const [small, large] = a.checkpoint.size <= b.checkpoint.size ? [a, b] : [b, a];
  let conflict = false;
  if (small.checkpoint.size === large.checkpoint.size) {
    conflict = !bytesEqual(small.checkpoint.root, large.checkpoint.root);
  } else if (small.checkpoint.size > 0n) {
    try {
      conflict = !verifyConsistency(
        small.checkpoint.size,
        large.checkpoint.size,
        input.proof ?? [],
        small.checkpoint.root,
        large.checkpoint.root,
      );
    } catch (error) {
      if (!(error instanceof ProofError)) throw error;
      conflict = false; // a malformed proof shows nothing
    }
  }
  if (!conflict) throw new AuditLogError("not_a_fork", "the two checkpoints are not shown to conflict");
  const row = await insertForkEvidence(deps.db, {
    origin: a.checkpoint.origin,
    size: small.checkpoint.size,
    noteA: input.noteA,
    noteB: input.noteB,
    detectedBy: input.detectedBy,
    detail: small.checkpoint.size === large.checkpoint.size ? "same size, different roots" : "inconsistent",
  });
  return { id: row.id };
}
