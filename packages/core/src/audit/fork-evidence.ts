/** Fork evidence: two checkpoints signed by this log's key that cannot both be true, kept once (ADR 0024). */

import { insertForkEvidence } from "@relink/db";
import { RelinkError } from "@relink/protocol";
import {
  bytesEqual,
  NoteError,
  openCheckpoint,
  ProofError,
  type VerifierKey,
  verifyConsistency,
} from "@relink/tlog";

import type { AuditLogDeps } from "./deps.ts";

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
      throw new RelinkError("BAD_INPUT", `not signed by the log: ${error.message}`);
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
  if (!conflict) throw new RelinkError("BAD_INPUT", "the two checkpoints are not shown to conflict");
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
