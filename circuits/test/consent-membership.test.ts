/**
 * Witness tests of circuits/src/consent_membership.circom: one passing witness, and for every constraint a
 * failing one — first as the honest witness calculator sees it (an assertion fails, so no proof can be
 * made), then, where the constraint ties a public input, as a cheating prover sees it: a valid witness
 * with the public input rewritten must violate the R1CS (circom_tester's checkConstraints).
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import {
  artifactUrl,
  FIELD_ORDER,
  MANIFEST,
  publicSignals,
  scopeField,
  TREE_ARITY,
  TREE_DEPTH,
} from "@relink/zk";
import { beforeAll, describe, expect, it } from "vitest";
import { type CompiledCircuit, compileMain, fixture, NOW, opening } from "./helpers.ts";

let circuit: CompiledCircuit;
const f = fixture();

beforeAll(async () => {
  circuit = await compileMain();
});

// Witness layout: [1, root, tagHi, tagLo, scope, queryTime, ...private] (no outputs).
const PUBLIC = { root: 1, tagHi: 2, tagLo: 3, scope: 4, queryTime: 5 } as const;

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
    expect(MANIFEST.arity).toBe(TREE_ARITY);
  });

  it("accepts a covered, unexpired tag with the declared purpose and category, at any position", async () => {
    // Leaves 0..3 fill the four child positions of the first node, 5 starts the second.
    for (const i of [0, 1, 2, 3, 5]) {
      const w = await circuit.witness(f.input(i));
      await circuit.tester.checkConstraints(w);
      const expected = publicSignals({
        root: f.tree.root(),
        tag: f.consents[i]!.tag,
        purpose: f.consents[i]!.purpose,
        category: f.consents[i]!.category,
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
    w[PUBLIC.scope] = scopeField("skip_trace", "contact");
    await violates(w);
  });

  it("rejects a data category other than the committed one (ADR 0048)", async () => {
    // Consent #5 was committed for credit exposure; proving it for a contact lookup fails…
    await rejects(f.input(5, NOW, { ...f.consents[5]!, category: "contact" }));
    // …and one committed for contact proves nothing for credit exposure.
    await rejects(f.input(0, NOW, { ...f.consents[0]!, category: "credit_exposure" }));
    // A cheating prover relabelling the public scope of a valid witness breaks the R1CS, both ways.
    const w5 = await circuit.witness(f.input(5));
    await circuit.tester.checkConstraints(w5);
    w5[PUBLIC.scope] = scopeField("skip_trace", "contact");
    await violates(w5);
    const w0 = await circuit.witness(f.input(0));
    w0[PUBLIC.scope] = scopeField("skip_trace", "credit_exposure");
    await violates(w0);
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
    for (const level of [0, 4, TREE_DEPTH - 1]) {
      for (const sibling of [0, 1, 2]) {
        const input = f.input(1);
        const elements = (input.pathElements as string[][]).map((l) => [...l]);
        elements[level]![sibling] = String(BigInt(elements[level]![sibling]!) + 1n);
        await rejects({ ...input, pathElements: elements });
      }
      for (const bit of [2 * level, 2 * level + 1]) {
        const input = f.input(1);
        const indices = [...(input.pathIndices as string[])];
        indices[bit] = indices[bit] === "0" ? "1" : "0";
        await rejects({ ...input, pathIndices: indices });
      }
    }
    // An index that is not a bit (it would let the prover blend children), in either bit of a level.
    const input = f.input(1);
    for (const bit of [0, 1]) {
      const indices = [...(input.pathIndices as string[])];
      indices[bit] = "2";
      await rejects({ ...input, pathIndices: indices });
    }
    // A root that is not the tree's (e.g. one never logged) — the leaf is valid, the root is not.
    await rejects({ ...input, root: String(f.tree.root() + 1n) });
    const w = await circuit.witness(input);
    w[PUBLIC.root] = w[PUBLIC.root]! + 1n;
    await violates(w);
  });

  it("range-checks the private expiry (no wrap-around past 2^64)", async () => {
    const input = f.input(0);
    // An "expiry" of r − 1 would be huge as an integer but is not a 64-bit time.
    await rejects({ ...input, expiry: String(FIELD_ORDER - 1n) });
    await rejects({ ...input, expiry: String(1n << 64n) });
  });

  it("leaves the public inputs' ranges to the verifier, which encodes them canonically (ADR 0048)", () => {
    // The hub and the offline verifier never take public inputs from the prover: publicSignals() splits a
    // 32-byte tag into limbs < 2^128 and refuses a time that is not a safe integer (< 2^53 < 2^64), which
    // is what LessThan(64) needs; the circuit therefore spends no constraints on range-checking them.
    const [, hi, lo, , t] = publicSignals({
      root: f.tree.root(),
      tag: new Uint8Array(32).fill(0xff),
      purpose: "skip_trace",
      category: "contact",
      queryTime: Number.MAX_SAFE_INTEGER,
    }).map(BigInt);
    expect(hi! < 1n << 128n && lo! < 1n << 128n && t! < 1n << 64n).toBe(true);
    expect(() =>
      publicSignals({
        root: f.tree.root(),
        tag: f.consents[0]!.tag,
        purpose: "skip_trace",
        category: "contact",
        queryTime: 2 ** 64,
      }),
    ).toThrow(/queryTime/);
  });
});
