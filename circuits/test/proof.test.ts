/**
 * Groth16 prove/verify with the committed artifacts: the verifier rebuilds the statement, so a proof
 * verifies only for its own root, tag, purpose and time; the 256-byte encoding round-trips and rejects
 * non-canonical coordinates; bundles parse strictly and re-verify; the worker pool gives proofs that verify.
 */
import {
  type Artifacts,
  BASE_FIELD_ORDER,
  checkArtifact,
  createProverPool,
  decodeProof,
  encodeBundle,
  encodeProof,
  MANIFEST,
  membershipInput,
  parseBundle,
  proofsCommitment,
  prove,
  VERIFICATION_KEY,
  VKEY_HASH,
  verifyBundle,
  verifyMembership,
  ZkError,
} from "@relink/zk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opening as c, committedArtifacts, NOW, statement, tree } from "./proof-fixture.ts";

let artifacts: Artifacts;

let proof1: Uint8Array;

beforeAll(async () => {
  artifacts = committedArtifacts();
  proof1 = (await prove(artifacts, membershipInput(c(1), tree.path(0), tree.root(), NOW))).proof;
});

describe("artifacts", () => {
  it("are the manifest's (SHA-256), and a changed byte is refused", () => {
    expect(artifacts.zkey.length).toBe(MANIFEST.zkey.bytes);
    const bad = artifacts.wasm.slice();
    bad[100]! ^= 1;
    expect(() => checkArtifact("wasm", bad)).toThrow(/SHA-256/);
  });
});

describe("prove / verify", () => {
  it("verifies for its own statement only", async () => {
    expect(await verifyMembership(VERIFICATION_KEY, statement(1), proof1)).toBe(true);
    expect(await verifyMembership(VERIFICATION_KEY, statement(2), proof1)).toBe(false);
    expect(
      await verifyMembership(VERIFICATION_KEY, { ...statement(1), purpose: "legal_claim" }, proof1),
    ).toBe(false);
    // The same consent, queried for another data category (a contact lookup), does not verify (ADR 0048).
    expect(await verifyMembership(VERIFICATION_KEY, { ...statement(1), category: "contact" }, proof1)).toBe(
      false,
    );
    expect(await verifyMembership(VERIFICATION_KEY, { ...statement(1), queryTime: NOW + 1 }, proof1)).toBe(
      false,
    );
    expect(
      await verifyMembership(VERIFICATION_KEY, { ...statement(1), root: tree.root() + 1n }, proof1),
    ).toBe(false);
    const flipped = proof1.slice();
    flipped[40]! ^= 1;
    expect(await verifyMembership(VERIFICATION_KEY, statement(1), flipped)).toBe(false);
  });

  it("refuses to prove a statement that is false (expired, wrong purpose, wrong category)", async () => {
    await expect(
      prove(artifacts, membershipInput(c(1), tree.path(0), tree.root(), NOW + 86_400_000)),
    ).rejects.toThrow(ZkError);
    await expect(
      prove(artifacts, membershipInput(c(1, { purpose: "legal_claim" }), tree.path(0), tree.root(), NOW)),
    ).rejects.toThrow(/PROVE|witness/);
    await expect(
      prove(artifacts, membershipInput(c(1, { category: "contact" }), tree.path(0), tree.root(), NOW)),
    ).rejects.toThrow(/PROVE|witness/);
  });

  it("encodes proofs in 256 bytes, round-trips, and rejects wrong lengths and coordinates ≥ q", () => {
    expect(proof1).toHaveLength(256);
    expect(encodeProof(decodeProof(proof1))).toEqual(proof1);
    expect(() => decodeProof(proof1.slice(1))).toThrow(ZkError);
    const big = proof1.slice();
    big.set(new Uint8Array(32).fill(0xff), 0);
    expect(() => decodeProof(big)).toThrow(/not below q/);
    expect(BASE_FIELD_ORDER < 1n << 254n).toBe(true);
  });
});

describe("bundles", () => {
  it("parse strictly, re-verify offline, and commit to every item", async () => {
    const bundle = {
      vkeySha256: VKEY_HASH,
      purpose: "debt_collection",
      category: "credit_exposure",
      queryTime: NOW,
      items: [{ tag: c(1).tag, root: tree.root(), proof: proof1 }],
    };
    const text = encodeBundle(bundle);
    const parsed = parseBundle(text);
    expect(await verifyBundle(VERIFICATION_KEY, VKEY_HASH, parsed)).toMatchObject({
      ok: true,
      commitment: proofsCommitment(bundle),
    });
    const swapped = { ...parsed, items: [{ ...parsed.items[0]!, tag: c(2).tag }] };
    expect(await verifyBundle(VERIFICATION_KEY, VKEY_HASH, swapped)).toMatchObject({
      ok: false,
      reason: "invalid_proof",
      item: 0,
    });
    expect(proofsCommitment(swapped)).not.toBe(proofsCommitment(bundle));
    // Relabelling the bundle's category changes its commitment and fails verification.
    const relabelled = { ...parsed, category: "contact" };
    expect(proofsCommitment(relabelled)).not.toBe(proofsCommitment(bundle));
    expect(await verifyBundle(VERIFICATION_KEY, VKEY_HASH, relabelled)).toMatchObject({
      ok: false,
      reason: "invalid_proof",
    });
    expect(await verifyBundle(VERIFICATION_KEY, "00".repeat(32), parsed)).toMatchObject({
      ok: false,
      reason: "wrong_vkey",
    });
    const doc = JSON.parse(text);
    expect(() => parseBundle("{")).toThrow(ZkError);
    expect(() => parseBundle({ ...doc, extra: 1 })).toThrow(/unknown field/);
    const { category: _c, ...noCategory } = doc;
    expect(() => parseBundle(noCategory)).toThrow(/category/);
    expect(() => parseBundle({ ...doc, format: "relink-consent-proofs/v1" })).toThrow(/format/);
    expect(() => parseBundle({ ...doc, items: [{ ...doc.items[0], proof: "00" }] })).toThrow(
      /items\[0\]\.proof/,
    );
    expect(() => parseBundle({ ...doc, items: [{ ...doc.items[0], root: "ff".repeat(32) }] })).toThrow(
      /items\[0\]\.root/,
    );
  });
});

describe("prover pool", () => {
  const pool = () => createProverPool(artifacts, 2);
  let p: ReturnType<typeof pool>;
  afterAll(async () => p?.close());

  it("proves a batch in order with proofs that verify, and reports a false statement as PROVE_FAILED", async () => {
    p = pool();
    const out = await p.proveAll([
      membershipInput(c(2), tree.path(1), tree.root(), NOW),
      membershipInput(c(1), tree.path(0), tree.root(), NOW),
    ]);
    expect(await verifyMembership(VERIFICATION_KEY, statement(2), out[0]!.proof)).toBe(true);
    expect(await verifyMembership(VERIFICATION_KEY, statement(1), out[1]!.proof)).toBe(true);
    await expect(p.prove(membershipInput(c(1), tree.path(1), tree.root(), NOW))).rejects.toMatchObject({
      code: "PROVE_FAILED",
    });
  });
});
