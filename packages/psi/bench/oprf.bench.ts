/**
 * `npm run bench -- oprf [--n N]`: threshold VOPRF throughput on the libsodium WASM worker pool, each figure
 * next to the raw WASM ristretto255 scalar-multiplication rate measured in the same run on the same workers.
 *
 * - baseline: raw `crypto_scalarmult_ristretto255` per core, all workers multiplying at once, mean of a
 *   measurement before and one after the batches (the machine is shared);
 * - per-holder proofs (threshold.ts, RFC 9497 batch DLEQ from every holder): holder 2 multiplications per
 *   element, client 1 + 3t; design floor 1 + 5t = 11 per element at t = 2;
 * - combined check (combined.ts, ADR 0013): holder 1 multiplication per element (+ one proven element),
 *   client 3 + t; design floor 3 + 2t = 7 per element;
 * - floor = the 2 + t = 4 multiplications per element no variant can avoid (blind, t evaluations, unblind);
 * - anchor: @openmined/psi.js 2.0.6 (ECDH-PSI on P-256, WASM, one thread) on the same identifiers — a whole
 *   PSI (server set of N with half of them shared, client request, server response, intersection) — as
 *   items/s; a devDependency of this package. Its dependency protoc-gen-js downloads a protoc binary from
 *   GitHub in a postinstall, which this network cannot reach and psi.js does not need at run time, so the
 *   root package.json denies that one script (`allowScripts`, npm 11).
 */
import { availableParallelism } from "node:os";
import type { HolderEvaluation } from "../src/combined.ts";
import { createOprfPool } from "../src/pool.ts";
import { insecureTrustedDealerSplitForTestsOnly } from "../src/testing.ts";
import type { HolderResponse } from "../src/threshold.ts";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg("n", 10_000);
const T = 2;
const E = { networkId: "relink-bench", epoch: 1 };
const cores = availableParallelism();
const time = async <R>(f: () => Promise<R> | R): Promise<[R, number]> => {
  const s = performance.now();
  const r = await f();
  return [r, (performance.now() - s) / 1000];
};

interface PsiJs {
  server: { createWithNewKey(reveal: boolean): PsiServer };
  client: { createWithNewKey(reveal: boolean): PsiClient };
  dataStructure: { GCS: unknown; Raw: unknown };
}
interface PsiServer {
  createSetupMessage(fpr: number, n: number, items: readonly string[], ds?: unknown): unknown;
  processRequest(req: unknown): unknown;
  delete(): void;
}
interface PsiClient {
  createRequest(items: readonly string[]): unknown;
  getIntersection(setup: unknown, response: unknown): number[];
  delete(): void;
}

/** Whole-PSI items/s of @openmined/psi.js on the client's N identifiers. */
async function psiJsItemsPerSecond(ids: string[]): Promise<number> {
  const PSI = (await import("@openmined/psi.js" as string)).default as () => Promise<PsiJs>;
  const psi = await PSI();
  const serverItems = [
    ...ids.slice(0, ids.length / 2),
    ...ids.map((x) => `${x}#server`).slice(0, ids.length / 2),
  ];
  const once = (items: string[]) => {
    const server = psi.server.createWithNewKey(true);
    const client = psi.client.createWithNewKey(true);
    const setup = server.createSetupMessage(1e-9, items.length, serverItems, psi.dataStructure.Raw);
    const response = server.processRequest(client.createRequest(items));
    const hits = client.getIntersection(setup, response);
    server.delete();
    client.delete();
    return hits.length;
  };
  once(ids.slice(0, 200));
  const [hits, s] = await time(() => once(ids));
  if (hits !== ids.length / 2) throw new Error(`psi.js found ${hits} of ${ids.length / 2}`);
  return ids.length / s;
}

const pool = await createOprfPool();
try {
  const dealt = insecureTrustedDealerSplitForTestsOnly({ ...E, threshold: T, holders: 3 }, (n) =>
    crypto.getRandomValues(new Uint8Array(n)),
  );
  const ids = Array.from({ length: N }, (_, i) => `cn-mobile:+86138${String(i).padStart(8, "0")}`);
  const holders = dealt.keys.slice(0, T);

  await pool.measureMulRate(500); // warm up JIT and WASM
  const warm = await pool.blindIdentifiers(E, ids.slice(0, 500));
  await pool.evaluateAsHolder(dealt.keys[0]!, warm.request);
  const warmE = await Promise.all(holders.map((k) => pool.evaluateUnproven(k, warm.request)));
  const warmC = await pool.startCombinedCheck(dealt.publicKeys, warm, warmE);
  await pool.finishCombinedCheck(
    dealt.publicKeys,
    warmC,
    await Promise.all(holders.map((k) => pool.evaluateAsHolder(k, warmC.request))),
  );

  const rates = await pool.measureMulRate(4000);
  const baselineBefore = rates.reduce((a, b) => a + b, 0) / rates.length;

  // Per-holder RFC 9497 batch proofs.
  const [batch, blindS] = await time(() => pool.blindIdentifiers(E, ids));
  const responses: HolderResponse[] = [];
  let holderS = 0;
  for (const k of holders) {
    const [r, s] = await time(() => pool.evaluateAsHolder(k, batch.request));
    responses.push(r);
    holderS += s;
  }
  const [outputs, combineS] = await time(() => pool.combineResponses(dealt.publicKeys, batch, responses));
  if (outputs.length !== N) throw new Error("wrong output count");

  // Combined check (ADR 0013), same identifiers, fresh blinds.
  const [batch2, blind2S] = await time(() => pool.blindIdentifiers(E, ids));
  const evals: HolderEvaluation[] = [];
  let holder2S = 0;
  for (const k of holders) {
    const [r, s] = await time(() => pool.evaluateUnproven(k, batch2.request));
    evals.push(r);
    holder2S += s;
  }
  const [check, startS] = await time(() => pool.startCombinedCheck(dealt.publicKeys, batch2, evals));
  const proofs: HolderResponse[] = [];
  let round2S = 0;
  for (const k of holders) {
    const [r, s] = await time(() => pool.evaluateAsHolder(k, check.request));
    proofs.push(r);
    round2S += s;
  }
  const [outputs2, finishS] = await time(() => pool.finishCombinedCheck(dealt.publicKeys, check, proofs));
  if (outputs2.map((o) => o.join()).join() !== outputs.map((o) => o.join()).join())
    throw new Error("the two variants disagree");

  const baselineAfter = (await pool.measureMulRate(4000)).reduce((a, b) => a + b, 0) / rates.length;
  const baseline = (baselineBefore + baselineAfter) / 2;
  const psiJs = await psiJsItemsPerSecond(ids);

  const perSecondAllCores = baseline * cores;
  const floorS = (N * (2 + T)) / perSecondAllCores;
  const batchS = blindS + holderS + combineS;
  const designFloorS = (N * (1 + 5 * T)) / perSecondAllCores;
  const holderEvals = (N * T) / holderS;
  const clientPerS = N / (blindS + combineS);
  const holderS2 = holder2S + round2S;
  const batch2S = blind2S + holderS2 + startS + finishS;
  const design2FloorS = (N * (3 + 2 * T)) / perSecondAllCores;
  const holderEvals2 = (N * T) / holderS2;
  const client2PerS = N / (blind2S + startS + finishS);
  const itemsPerS = N / batch2S;

  const rows: [string, string, string][] = [
    ["raw WASM scalar mult / s / core (baseline)", baseline.toFixed(0), "1.00"],
    ["  (before / after the batches)", `${baselineBefore.toFixed(0)} / ${baselineAfter.toFixed(0)}`, ""],
    [
      "per-holder proofs: holder evaluations / s (all cores)",
      holderEvals.toFixed(0),
      (holderEvals / perSecondAllCores).toFixed(2),
    ],
    [
      "per-holder proofs: client elements / s (all cores)",
      clientPerS.toFixed(0),
      (clientPerS / perSecondAllCores).toFixed(2),
    ],
    [
      `per-holder proofs: ${N} batch 2-of-3, s (floor ${floorS.toFixed(2)})`,
      batchS.toFixed(2),
      (batchS / floorS).toFixed(2),
    ],
    [
      `  vs its design floor (${designFloorS.toFixed(2)} s, 11 mults)`,
      batchS.toFixed(2),
      (batchS / designFloorS).toFixed(2),
    ],
    [
      "combined check: holder evaluations / s (all cores)",
      holderEvals2.toFixed(0),
      (holderEvals2 / perSecondAllCores).toFixed(2),
    ],
    [
      "combined check: client elements / s (all cores)",
      client2PerS.toFixed(0),
      (client2PerS / perSecondAllCores).toFixed(2),
    ],
    [
      `combined check: ${N} batch 2-of-3, s (floor ${floorS.toFixed(2)})`,
      batch2S.toFixed(2),
      (batch2S / floorS).toFixed(2),
    ],
    [
      `  vs its design floor (${design2FloorS.toFixed(2)} s, 7 mults)`,
      batch2S.toFixed(2),
      (batch2S / design2FloorS).toFixed(2),
    ],
    [
      "  phases: blind / holders r1 / start / holders r2 / finish, s",
      [blind2S, holder2S, startS, round2S, finishS].map((x) => x.toFixed(2)).join(" / "),
      "",
    ],
    [
      "items / s: relink (combined) vs @openmined/psi.js",
      `${itemsPerS.toFixed(0)} vs ${psiJs.toFixed(0)}`,
      (itemsPerS / psiJs).toFixed(2),
    ],
  ];
  console.log(`cores=${cores} workers=${pool.size} N=${N} t=${T}`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(62)} ${b.padStart(30)} ${c.padStart(6)}`);
  const r3 = (x: number) => +x.toFixed(3);
  console.log(
    `BENCH oprf ${JSON.stringify({
      cores,
      n: N,
      baseline_mults_per_s: Math.round(baseline),
      holder_evals_per_s: Math.round(holderEvals),
      holder_ratio: r3(holderEvals / perSecondAllCores),
      client_per_s: Math.round(clientPerS),
      client_ratio: r3(clientPerS / perSecondAllCores),
      batch_s: r3(batchS),
      batch_floor_s: r3(floorS),
      batch_ratio: r3(batchS / floorS),
      batch_design_ratio: r3(batchS / designFloorS),
      combined_holder_evals_per_s: Math.round(holderEvals2),
      combined_holder_ratio: r3(holderEvals2 / perSecondAllCores),
      combined_client_per_s: Math.round(client2PerS),
      combined_client_ratio: r3(client2PerS / perSecondAllCores),
      combined_batch_s: r3(batch2S),
      combined_batch_ratio: r3(batch2S / floorS),
      combined_batch_design_ratio: r3(batch2S / design2FloorS),
      items_per_s: Math.round(itemsPerS),
      psijs_items_per_s: Math.round(psiJs),
      vs_psijs: r3(itemsPerS / psiJs),
    })}`,
  );
} finally {
  await pool.close();
}
