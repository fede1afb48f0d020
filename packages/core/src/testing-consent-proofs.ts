/**
 * Consent-membership proof fixtures for core's tests (ADR 0050), shared by the lookup and the exposure
 * tests: a member's consent book in a Poseidon tree, a book it never commits, and real Groth16 proofs from
 * the committed artifacts. Part of `@relink/core/testing`; nothing here stands in for the prover or the
 * verifier.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { sha256 } from "@noble/hashes/sha2.js";
import { type ConsentProofsWire, fromHex, toBase64Url } from "@relink/protocol";
import {
  type Artifacts,
  artifactUrl,
  type ConsentOpening,
  checkArtifact,
  consentLeaf,
  fieldToBytes,
  membershipInput,
  PoseidonTree,
  prove,
  VKEY_HASH,
} from "@relink/zk";

export interface TestConsentBook {
  /** The opening of subject n's consent (for the book's purpose and category unless `over` says otherwise). */
  opening(n: number, over?: Partial<ConsentOpening>): ConsentOpening;
  /**
   * Subjects 1 and 2 for the book's purpose and category, 3 for fraud prevention only, 4 for the book's
   * purpose but the other data category (ADR 0048: a proof binds its category).
   */
  openings: ConsentOpening[];
  tree: PoseidonTree;
  /** Subject 1 under another legal basis, in a tree the member never commits (a root the hub has not seen). */
  strayOpening: ConsentOpening;
  stray: PoseidonTree;
}

export function testConsentBook(
  tag: (n: number) => Uint8Array,
  purpose: string,
  category: "contact" | "credit_exposure",
): TestConsentBook {
  const otherCategory = category === "contact" ? "credit_exposure" : "contact";
  const opening = (n: number, over: Partial<ConsentOpening> = {}): ConsentOpening => ({
    tag: tag(n),
    purpose,
    category,
    legalBasis: "consent",
    expiresAt: Date.parse("2027-06-01T00:00:00Z"),
    evidenceHash: sha256(new TextEncoder().encode(`evidence-${n}`)),
    salt: sha256(new TextEncoder().encode(`salt-${n}`)).slice(0, 31),
    ...over,
  });
  const openings = [
    opening(1),
    opening(2),
    opening(3, { purpose: "fraud_prevention" }),
    opening(4, { category: otherCategory }),
  ];
  const tree = new PoseidonTree();
  for (const o of openings) tree.insert(consentLeaf(o));
  const strayOpening = opening(1, { legalBasis: "contract" });
  const stray = new PoseidonTree(undefined, [consentLeaf(strayOpening)]);
  return { opening, openings, tree, strayOpening, stray };
}

/**
 * Proofs of subjects 1, 2, 3 (fraud prevention) and 4 (the other category) under the book's tree, of subject 1
 * under the stray tree, and (with `aheadMs`) of subject 1 for a later horizon (ADR 0049).
 */
export type TestConsentProofs = Record<"s1" | "s2" | "s3fraud" | "s4otherCategory" | "stray1", Uint8Array> & {
  s1ahead?: Uint8Array;
};

/** The committed prover artifacts, checked against their recorded hashes. */
export function testProverArtifacts(): Artifacts {
  return {
    wasm: checkArtifact("wasm", new Uint8Array(gunzipSync(readFileSync(artifactUrl("wasm"))))),
    zkey: checkArtifact("zkey", new Uint8Array(gunzipSync(readFileSync(artifactUrl("zkey"))))),
  };
}

/** Five real proofs at `queryTime` (about a second each), six with `aheadMs`: prove once per test file. */
export async function proveTestConsentBook(
  book: TestConsentBook,
  queryTime: number,
  options: { aheadMs?: number; artifacts?: Artifacts } = {},
): Promise<TestConsentProofs> {
  const artifacts = options.artifacts ?? testProverArtifacts();
  const at = (i: number) =>
    membershipInput(book.openings[i]!, book.tree.path(i), book.tree.root(), queryTime);
  return {
    s1: (await prove(artifacts, at(0))).proof,
    s2: (await prove(artifacts, at(1))).proof,
    s3fraud: (await prove(artifacts, at(2))).proof,
    s4otherCategory: (await prove(artifacts, at(3))).proof,
    ...(options.aheadMs === undefined
      ? {}
      : {
          s1ahead: (
            await prove(
              artifacts,
              membershipInput(book.openings[0]!, book.tree.path(0), book.tree.root(), options.aheadMs),
            )
          ).proof,
        }),
    stray1: (
      await prove(
        artifacts,
        membershipInput(book.strayOpening, book.stray.path(0), book.stray.root(), queryTime),
      )
    ).proof,
  };
}

/** A tree root as the wire carries it. */
export const b64root = (root: bigint): string => toBase64Url(fieldToBytes(root));

/** The `consentProofs` of a lookup or exposure query: one (root, proof) item per tag. */
export function consentProofsInput(
  queryTime: number,
  items: readonly { root: bigint; proof: Uint8Array }[],
): ConsentProofsWire {
  return { queryTime, items: items.map((i) => ({ root: b64root(i.root), proof: toBase64Url(i.proof) })) };
}

/** The input that commits the book's root, with the committed verification key's hash. */
export function consentRootInput(book: TestConsentBook): { root: string; count: number; vkeyHash: string } {
  return {
    root: b64root(book.tree.root()),
    count: book.openings.length,
    vkeyHash: toBase64Url(fromHex(VKEY_HASH)),
  };
}
