/**
 * Witness-test harness: compiles circuits/src/main.circom with circom2 into a temporary directory, loads
 * its witness calculator and R1CS through circom_tester (its BaseTester checks every constraint), and builds
 * a small consent tree with packages/zk's encodings.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConsentOpening, consentLeaf, type MerklePath, membershipInput, PoseidonTree } from "@relink/zk";
import { BaseTester } from "circom_tester/common/tester.js";
import buildWitnessCalculator from "circom_tester/wasm/witness_calculator.js";

const root = join(import.meta.dirname, "..", "..");

export interface CompiledCircuit {
  dir: string;
  wasm: Uint8Array;
  tester: BaseTester;
  witness(input: Record<string, unknown>): Promise<bigint[]>;
}

export async function compileMain(): Promise<CompiledCircuit> {
  const dir = mkdtempSync(join(tmpdir(), "relink-circuit-test-"));
  execFileSync(
    join(root, "node_modules", ".bin", "circom2"),
    [
      join(root, "circuits", "src", "main.circom"),
      "--r1cs",
      "--wasm",
      "--O2",
      "-l",
      join(root, "node_modules"),
      "-o",
      dir,
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  const wasm = new Uint8Array(readFileSync(join(dir, "main_js", "main.wasm")));
  const calc = await buildWitnessCalculator(wasm);
  const tester = new BaseTester(dir, "main");
  await tester.loadConstraints();
  return { dir, wasm, tester, witness: (input) => calc.calculateWitness(input, true) };
}

export const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const DAY = 86_400_000;

function bytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

export function opening(i: number, over: Partial<ConsentOpening> = {}): ConsentOpening {
  return {
    tag: bytes(32, 0x10 + i),
    purpose: "skip_trace",
    category: "contact",
    legalBasis: "consent",
    expiresAt: NOW + 30 * DAY,
    evidenceHash: bytes(32, 0xa0 + i),
    salt: bytes(31, 0x50 + i),
    ...over,
  };
}

export interface Fixture {
  consents: ConsentOpening[];
  tree: PoseidonTree;
  path(i: number): MerklePath;
  input(i: number, queryTime?: number, c?: ConsentOpening): Record<string, string | string[] | string[][]>;
}

/** Six consents; #3 is for another purpose, #4 expired yesterday, #5 for another data category. */
export function fixture(): Fixture {
  const consents = [
    opening(0),
    opening(1),
    opening(2),
    opening(3, { purpose: "collections" }),
    opening(4, { expiresAt: NOW - DAY }),
    opening(5, { category: "credit_exposure" }),
  ];
  const tree = new PoseidonTree();
  for (const c of consents) tree.insert(consentLeaf(c));
  return {
    consents,
    tree,
    path: (i) => tree.path(i),
    input: (i, queryTime = NOW, c = consents[i]!) => membershipInput(c, tree.path(i), tree.root(), queryTime),
  };
}
