/**
 * `npm run bench -- oprf`: threshold VOPRF throughput on the libsodium WASM worker pool, each figure next
 * to the raw WASM ristretto255 scalar-multiplication rate measured in the same run on the same workers.
 *
 * - baseline: raw `crypto_scalarmult_ristretto255` per core, all workers multiplying at once, mean of a
 *   measurement before and one after the batch (the machine is shared);
 * - holder: one holder evaluating a 10,000-element request with its batched DLEQ proof, all cores;
 * - client: blind + verify t = 2 proofs + combine + finalize, per element, all cores;
 * - batch: the whole 2-of-3 pipeline for 10,000 identifiers (blind, two holders, verify, combine).
 *   Floor = its 4 essential multiplications per element (blind, 2 evaluations, unblind) at the
 *   baseline rate on all cores; design floor = every multiplication this design performs (11 per element:
 *   composites are plain multiplications because libsodium exposes no multi-scalar multiplication).
 */
import { availableParallelism } from "node:os";
import { createOprfPool } from "../src/pool.ts";
import { insecureTrustedDealerSplitForTestsOnly } from "../src/testing.ts";
import type { HolderResponse } from "../src/threshold.ts";

const N = 10_000;
const T = 2;
const E = { networkId: "relink-bench", epoch: 1 };
const cores = availableParallelism();
const pool = await createOprfPool();
try {
  const dealt = insecureTrustedDealerSplitForTestsOnly({ ...E, threshold: T, holders: 3 }, (n) =>
    crypto.getRandomValues(new Uint8Array(n)),
  );
  const ids = Array.from({ length: N }, (_, i) => `cn-mobile:+86138${String(i).padStart(8, "0")}`);
  const time = async <R>(f: () => Promise<R>): Promise<[R, number]> => {
    const s = performance.now();
    const r = await f();
    return [r, (performance.now() - s) / 1000];
  };

  await pool.measureMulRate(500); // warm up JIT and WASM
  const warm = await pool.blindIdentifiers(E, ids.slice(0, 500));
  await pool.evaluateAsHolder(dealt.keys[0]!, warm.request);

  const rates = await pool.measureMulRate(4000);
  const baselineBefore = rates.reduce((a, b) => a + b, 0) / rates.length;

  const [batch, blindS] = await time(() => pool.blindIdentifiers(E, ids));
  const holders = dealt.keys.slice(0, T);
  const responses: HolderResponse[] = [];
  let holderS = 0;
  for (const k of holders) {
    const [r, s] = await time(() => pool.evaluateAsHolder(k, batch.request));
    responses.push(r);
    holderS += s;
  }
  const [outputs, combineS] = await time(() => pool.combineResponses(dealt.publicKeys, batch, responses));
  if (outputs.length !== N) throw new Error("wrong output count");
  const baselineAfter = (await pool.measureMulRate(4000)).reduce((a, b) => a + b, 0) / rates.length;
  // The machine is shared: take the baseline as the mean of a measurement before and after the batch.
  const baseline = (baselineBefore + baselineAfter) / 2;

  const batchS = blindS + holderS + combineS;
  const perSecondAllCores = baseline * cores;
  const holderEvals = (N * T) / holderS;
  const clientPerS = N / (blindS + combineS);
  const floorS = (N * (2 + T)) / perSecondAllCores;
  const designFloorS = (N * (1 + 5 * T)) / perSecondAllCores;

  const rows: [string, string, string][] = [
    ["raw WASM scalar mult / s / core (baseline)", baseline.toFixed(0), "1.00"],
    ["  (before / after the batch)", `${baselineBefore.toFixed(0)} / ${baselineAfter.toFixed(0)}`, ""],
    [
      "holder evaluations with proof / s (all cores)",
      holderEvals.toFixed(0),
      (holderEvals / perSecondAllCores).toFixed(2),
    ],
    [
      "client blind+verify+finalize / s (all cores)",
      clientPerS.toFixed(0),
      (clientPerS / perSecondAllCores).toFixed(2),
    ],
    [`10k batch 2-of-3, s (floor ${floorS.toFixed(2)} s)`, batchS.toFixed(2), (batchS / floorS).toFixed(2)],
    [
      `  vs design floor (${designFloorS.toFixed(2)} s)`,
      batchS.toFixed(2),
      (batchS / designFloorS).toFixed(2),
    ],
    [
      "  phases: blind / holders / verify+combine, s",
      `${blindS.toFixed(2)} / ${holderS.toFixed(2)} / ${combineS.toFixed(2)}`,
      "",
    ],
  ];
  console.log(`cores=${cores} workers=${pool.size} N=${N} t=${T}`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(52)} ${b.padStart(22)} ${c.padStart(6)}`);
  console.log(
    `BENCH oprf ${JSON.stringify({
      cores,
      baseline_mults_per_s: Math.round(baseline),
      holder_evals_per_s: Math.round(holderEvals),
      holder_ratio: +(holderEvals / perSecondAllCores).toFixed(3),
      client_per_s: Math.round(clientPerS),
      client_ratio: +(clientPerS / perSecondAllCores).toFixed(3),
      batch_10k_s: +batchS.toFixed(3),
      batch_10k_floor_s: +floorS.toFixed(3),
      batch_10k_ratio: +(batchS / floorS).toFixed(3),
      batch_10k_design_floor_s: +designFloorS.toFixed(3),
      batch_10k_design_ratio: +(batchS / designFloorS).toFixed(3),
    })}`,
  );
} finally {
  await pool.close();
}
