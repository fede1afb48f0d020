/**
 * The prove/verify tests' fixture (proof.test.ts, groth16.test.ts): the committed artifacts, checked against
 * the manifest, and two debt-collection consents for credit-exposure data in a full-depth tree, with the
 * statement the verifier rebuilds for each.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import {
  type Artifacts,
  artifactUrl,
  type ConsentOpening,
  checkArtifact,
  consentLeaf,
  type MembershipStatement,
  PoseidonTree,
  TREE_DEPTH,
} from "@relink/zk";

export const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);

/** The committed prover artifacts (gunzipped), refused unless they are the manifest's. */
export function committedArtifacts(): Artifacts {
  const load = (n: "wasm" | "zkey") =>
    checkArtifact(n, new Uint8Array(gunzipSync(readFileSync(artifactUrl(n)))));
  return { wasm: load("wasm"), zkey: load("zkey") };
}

/** Consent i (1 and 2 are in `tree`, at leaves 0 and 1). */
export const opening = (i: number, over: Partial<ConsentOpening> = {}): ConsentOpening => ({
  tag: new Uint8Array(32).fill(i),
  purpose: "debt_collection",
  category: "credit_exposure",
  legalBasis: "consent",
  expiresAt: NOW + 86_400_000,
  evidenceHash: new Uint8Array(32).fill(100 + i),
  salt: new Uint8Array(31).fill(200 + i),
  ...over,
});

export const tree = new PoseidonTree(TREE_DEPTH, [consentLeaf(opening(1)), consentLeaf(opening(2))]);

/** What a verifier rebuilds for a query about consent i at NOW. */
export const statement = (i: number): MembershipStatement => ({
  root: tree.root(),
  tag: opening(i).tag,
  purpose: "debt_collection",
  category: "credit_exposure",
  queryTime: NOW,
});
