/**
 * Fixtures for tlog's benchmarks and probes (`@relink/tlog/testing`): a lookup event, and one receipt for a
 * leaf 70 % of the way into a tree of `leaves` leaves, under a checkpoint signed by a fresh log key and
 * cosigned by a fresh witness (k = 1). Randomness is passed in, so this stays a pure leaf module.
 */
import {
  type AuditEvent,
  buildReceipt,
  cosign,
  encodeAuditEvent,
  formatVerifierKey,
  generateSignerKey,
  hashLeaf,
  inclusionProof,
  MemoryTree,
  parseNote,
  type Receipt,
  SIG_TYPE_COSIGNATURE_V1,
  signCheckpoint,
  verifierOf,
} from "./index.ts";

/** The `i`-th lookup event of a synthetic log (its time and output count vary with `i`). */
export function sampleLookupEvent(i = 0): AuditEvent {
  return {
    type: "lookup",
    time: 1_764_144_000_000 + i,
    member: "0b5f2f3e-8c1d-4a7e-9d8e-1f2a3b4c5d6e",
    userPseudonym: "11".repeat(32),
    purpose: "debt_collection",
    legalBasis: "consent",
    caseCommitment: "22".repeat(32),
    subjectTagCommitments: ["33".repeat(32)],
    inputSize: 1,
    outputCount: i % 5,
    decision: "allow",
    ruleIds: ["lookup.consent"],
    requestHash: "44".repeat(32),
    softwareVersion: "0.1.0",
  };
}

export interface SampleReceipt {
  /** The receipt as a verifier receives it (JSON text) and as an object. */
  receipt: string;
  receiptObject: Receipt;
  /** The cosigned checkpoint note. */
  checkpoint: string;
  /** Hashes in the inclusion proof. */
  proofLength: number;
  /** What a verifier trusts: the log's key and the one witness, k = 1. */
  trust: { logKey: string; witnesses: string[]; k: number };
}

export async function sampleReceipt(
  leaves: number,
  random: (n: number) => Uint8Array,
): Promise<SampleReceipt> {
  const origin = "relink.example/audit-log/v1";
  const logKey = generateSignerKey(origin, random);
  const wKey = generateSignerKey("bench.member.example/witness", random, SIG_TYPE_COSIGNATURE_V1);
  const tree = new MemoryTree();
  const leaf = encodeAuditEvent(sampleLookupEvent(1));
  const index = Math.floor(leaves * 0.7);
  const filler = hashLeaf(new Uint8Array(64));
  for (let k = 0; k < leaves; k++) tree.append(k === index ? hashLeaf(leaf) : filler);
  const note = signCheckpoint({ origin, size: tree.size, root: tree.root(), extensions: [] }, logKey);
  const checkpoint = note + cosign(parseNote(note).text, wKey, 1_764_144_000n);
  const proof = await inclusionProof(BigInt(index), tree.size, tree.read);
  const receiptObject = buildReceipt({ index: BigInt(index), leaf, inclusionProof: proof, checkpoint });
  return {
    receipt: JSON.stringify(receiptObject),
    receiptObject,
    checkpoint,
    proofLength: proof.length,
    trust: {
      logKey: formatVerifierKey(verifierOf(logKey)),
      witnesses: [formatVerifierKey(verifierOf(wKey))],
      k: 1,
    },
  };
}
