/**
 * Witness tests of circuits/src/consent_membership.circom: one passing witness, and for every constraint a
 * failing one — first as the honest witness calculator sees it (an assertion fails, so no proof can be
 * made), then, where the constraint ties a public input, as a cheating prover sees it: a valid witness
 * with the public input rewritten must violate the R1CS (circom_tester's checkConstraints).
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { artifactUrl, codeField, FIELD_ORDER, MANIFEST, publicSignals, TREE_DEPTH } from "@relink/zk";
import { beforeAll, describe, expect, it } from "vitest";
import { type CompiledCircuit, compileMain, fixture, NOW, opening } from "./helpers.ts";

let circuit: CompiledCircuit;
const f = fixture();

beforeAll(async () => {
  circuit = await compileMain();
});

// Witness layout: [1, root, tagHi, tagLo, purpose, queryTime, ...private] (no outputs).
const PUBLIC = { root: 1, tagHi: 2, tagLo: 3, purpose: 4, queryTime: 5 } as const;

async function rejects(input: Record<string, unknown>): Promise<void> {
  await expect(circuit.witness(input)).rejects.toThrow(/Assert Failed|Error in template|Not all inputs/);
}

async function violates(witness: bigint[]): Promise<void> {
  await expect(circuit.tester.checkConstraints(witness)).rejects.toThrow();
}

describe("consent membership circuit", () => {
  it("compiles to the committed artifact (same circom source, same wasm bytes)", () => {
    const committed = gunzipSync(readFileSync(artifactUrl("wasm")));
    expect(createHash("sha256").update(circuit.wasm).digest("hex")).toBe(MANIFEST.wasm.sha256);
    expect(createHash("sha256").update(committed).digest("hex")).toBe(MANIFEST.wasm.sha256);
    expect(MANIFEST.depth).toBe(TREE_DEPTH);
  });

  it("accepts a covered, unexpired tag with the declared purpose, at any position", async () => {
    for (const i of [0, 2]) {
      const w = await circuit.witness(f.input(i));
      await circuit.tester.checkConstraints(w);
      const expected = publicSignals({
        root: f.tree.root(),
        tag: f.consents[i]!.tag,
        purpose: "skip_trace",
        queryTime: NOW,
      });
      expect(w.slice(1, 6).map(String)).toEqual(expected);
    }
  });

  it("rejects a purpose other than the committed one", async () => {
    // Consent #3 was given for collections; declaring skip_trace with its opening fails…
    await rejects(f.input(3, NOW, { ...f.consents[3]!, purpose: "skip_trace" }));
    // …and a cheating prover rewriting the public purpose of a valid witness breaks the R1CS.
    const w = await circuit.witness(f.input(3));
    await circuit.tester.checkConstraints(w);
    w[PUBLIC.purpose] = codeField("purpose", "skip_trace");
    await violates(w);
  });

  it("rejects an expired consent, including at the exact expiry instant", async () => {
    await rejects(f.input(4));
    const c = f.consents[0]!;
    await rejects(f.input(0, c.expiresAt));
    await circuit.tester.checkConstraints(await circuit.witness(f.input(0, c.expiresAt - 1)));
    // Claiming a later expiry changes the leaf, so the root no longer matches.
    await rejects(f.input(4, NOW, { ...f.consents[4]!, expiresAt: NOW + 1 }));
    // A cheater moving the public query time past expiry breaks the R1CS.
    const w = await circuit.witness(f.input(0));
    w[PUBLIC.queryTime] = BigInt(c.expiresAt);
    await violates(w);
  });

  it("rejects a tag that is not in the tree", async () => {
    const stranger = opening(9);
    await rejects(f.input(0, NOW, { ...f.consents[0]!, tag: stranger.tag }));
    const w = await circuit.witness(f.input(0));
    w[PUBLIC.tagLo] = w[PUBLIC.tagLo]! ^ 1n;
    await violates(w);
  });

  it("rejects a tampered authentication path, index bit or root", async () => {
    for (const level of [0, 7, TREE_DEPTH - 1]) {
      const input = f.input(1);
      const elements = [...(input.pathElements as string[])];
      elements[level] = String(BigInt(elements[level]!) + 1n);
      await rejects({ ...input, pathElements: elements });
      const indices = [...(input.pathIndices as string[])];
      indices[level] = indices[level] === "0" ? "1" : "0";
      await rejects({ ...input, pathIndices: indices });
    }
    // An index that is not a bit (it would let the prover blend the two children).
    const input = f.input(1);
    const indices = [...(input.pathIndices as string[])];
    indices[0] = "2";
    await rejects({ ...input, pathIndices: indices });
    // A root that is not the tree's (e.g. one never logged) — the leaf is valid, the root is not.
    await rejects({ ...input, root: String(f.tree.root() + 1n) });
    const w = await circuit.witness(input);
    w[PUBLIC.root] = w[PUBLIC.root]! + 1n;
    await violates(w);
  });

  it("range-checks the limbs and times (no wrap-around past 2^128 or 2^64)", async () => {
    const input = f.input(0);
    // tagHi + 2^128 with tagLo - 1·… is not a valid limb; the same field value as another tag is impossible.
    await rejects({ ...input, tagHi: String(BigInt(input.tagHi as string) + (1n << 128n)) });
    await rejects({ ...input, queryTime: String(1n << 64n) });
    // An "expiry" of r − 1 would be huge as an integer but is not a 64-bit time.
    await rejects({ ...input, expiry: String(FIELD_ORDER - 1n) });
  });
});
