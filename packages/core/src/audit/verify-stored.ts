import { listAuditCheckpoints, listAuditLeaves } from "@relink/db";
import {
  bytesEqual,
  CompactRange,
  decodeAuditEvent,
  hashLeaf,
  openCheckpoint,
  parseNote,
  type VerifierKey,
  verifyCosignatures,
} from "@relink/tlog";
import { cosignedCheckpoint } from "./checkpoints.ts";
import type { AuditLogDeps } from "./deps.ts";

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
  const range = new CompactRange();
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
      const completed = range.append(leafHash);
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
      if (wanted.has(next)) rootsAt.set(next, range.root());
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
