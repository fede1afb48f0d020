/**
 * `npm run bench -- native [--n N]`: the native ristretto255 backend against libsodium WASM in the same run.
 *
 * - baselines: raw `crypto_scalarmult_ristretto255` per core with every worker of a pool multiplying at once,
 *   native and WASM, each the mean of a measurement before and one after the timed parts (shared machine);
 * - native async: `mulManyAsync` (libuv thread pool, one job per core) multiplications/s, vs native × cores;
 * - key holder: round-1 evaluations (ADR 0013: k·B_j, 1 multiplication each) of an N batch on the native
 *   pool and through `mulManyAsync`, and proven evaluations (RFC 9497 batch DLEQ, 2 per element), each as a
 *   ratio to native multiplications × cores (goal ≥ 0.8);
 * - client: an N-identifier 2-of-3 threshold batch with the combined check (blind, two holders' round 1,
 *   start, round 2, finish) against its floor, the 2 + t = 4 multiplications per identifier no variant can
 *   avoid, at the native rate on all cores.
 * - MSM (ADR 0039): CPU time per term of the variable-time multi-scalar multiplication at n = 64, 1,024 and
 *   4,096 against one native constant-time multiplication measured alternately on the same thread;
 * Load average (os.loadavg) is printed with the figures: other sessions share the machine. Because wall-clock
 * rates under contention measure the scheduler as much as the code, the same ratios are also given in CPU
 * time of this process (all threads): operations per CPU second ÷ native multiplications per CPU second.
 */
import { availableParallelism, loadavg } from "node:os";
import { type HolderEvaluation, type HolderResponse, loadSodiumGroup } from "@relink/psi";
import { createOprfPool } from "@relink/psi/pool";
import { insecureTrustedDealerSplitForTestsOnly } from "@relink/psi/testing";
import { chooseNodeGroup } from "../src/index.ts";

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
const load = () => loadavg()[0]!.toFixed(2);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const cpuTime = async <R>(f: () => Promise<R> | R): Promise<[R, number]> => {
  const s = cpu();
  const r = await f();
  return [r, cpu() - s];
};

const chosen = await chooseNodeGroup();
const nativeGroup = chosen.native;
if (!nativeGroup) throw new Error(`native backend unavailable: ${chosen.fallbackReason}`);
const pool = await createOprfPool(chosen.pool);
const wasmPool = await createOprfPool({ group: await loadSodiumGroup() });
const loadStart = load();
try {
  const dealt = insecureTrustedDealerSplitForTestsOnly({ ...E, threshold: T, holders: 3 }, (n) =>
    crypto.getRandomValues(new Uint8Array(n)),
  );
  const holders = dealt.keys.slice(0, T);
  const ids = Array.from({ length: N }, (_, i) => `cn-mobile:+86138${String(i).padStart(8, "0")}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rates = async () => {
    const [r, c] = await cpuTime(() => pool.measureMulRate(4000));
    const [w, cw] = await cpuTime(() => wasmPool.measureMulRate(2000));
    return {
      native: mean(r),
      nativeCpu: (4000 * r.length) / c,
      wasm: mean(w),
      wasmCpu: (2000 * w.length) / cw,
    };
  };

  // Warm-up: JIT, WASM, workers.
  await pool.measureMulRate(300);
  await wasmPool.measureMulRate(300);
  const warm = await pool.blindIdentifiers(E, ids.slice(0, 500));
  await pool.evaluateUnproven(holders[0]!, warm.request);
  await nativeGroup.mulManyAsync(holders[0]!.secretShare, warm.request.blindedElements);

  const before = await rates();

  // libuv async multiplications.
  const points = warm.request.blindedElements;
  const many = Array.from({ length: N }, (_, j) => points[j % points.length]!);
  const [, asyncS] = await time(() => nativeGroup.mulManyAsync(holders[0]!.secretShare, many));

  // Combined check, N identifiers, 2-of-3.
  const batchCpu0 = cpu();
  const [batch, blindS] = await time(() => pool.blindIdentifiers(E, ids));
  const evals: HolderEvaluation[] = [];
  let round1S = 0;
  const round1Cpu0 = cpu();
  for (const k of holders) {
    const [r, s] = await time(() => pool.evaluateUnproven(k, batch.request));
    evals.push(r);
    round1S += s;
  }
  const round1Cpu = cpu() - round1Cpu0;
  const [check, startS] = await time(() => pool.startCombinedCheck(dealt.publicKeys, batch, evals));
  const proofs: HolderResponse[] = [];
  let round2S = 0;
  for (const k of holders) {
    const [r, s] = await time(() => pool.evaluateAsHolder(k, check.request));
    proofs.push(r);
    round2S += s;
  }
  const [outputs, finishS] = await time(() => pool.finishCombinedCheck(dealt.publicKeys, check, proofs));
  if (outputs.length !== N) throw new Error("wrong output count");
  const batchCpu = cpu() - batchCpu0;

  // Key holder round 1 through libuv async (no worker threads), and proven evaluations on the pool.
  const [viaAsync, asyncHolderS] = await time(() =>
    nativeGroup.mulManyAsync(holders[0]!.secretShare, batch.request.blindedElements),
  );
  if (viaAsync.some((z, j) => z.join() !== evals[0]!.evaluatedElements[j]!.join()))
    throw new Error("async and pool evaluations disagree");
  const [, provenS] = await time(() => pool.evaluateAsHolder(holders[0]!, batch.request));

  // MSM per term vs one native multiplication, CPU time on this thread, alternating so that load hits both.
  const scalarOf = () => nativeGroup.scalarReduce(crypto.getRandomValues(new Uint8Array(64)));
  const msmRows = [64, 1024, 4096].map((n) => {
    const ks = Array.from({ length: n }, scalarOf);
    const ps = Array.from({ length: n }, (_, j) => batch.request.blindedElements[j % N]!);
    let msmCpu = 0;
    let msmTerms = 0;
    let mulCpu = 0;
    let mulCount = 0;
    const mulN = Math.min(n, 256);
    for (let round = 0; round < 3; round++) {
      const s0 = cpu();
      do {
        nativeGroup.msm(ks, ps);
        msmTerms += n;
      } while (cpu() - s0 < 0.1);
      msmCpu += cpu() - s0;
      const s1 = cpu();
      do {
        nativeGroup.mulEach!(ks.slice(0, mulN), ps.slice(0, mulN));
        mulCount += mulN;
      } while (cpu() - s1 < 0.1);
      mulCpu += cpu() - s1;
    }
    const perTerm = (msmCpu / msmTerms) * 1e6;
    const perMul = (mulCpu / mulCount) * 1e6;
    return { n, perTerm, perMul, ratio: perTerm / perMul };
  });

  const after = await rates();
  const nativeRate = (before.native + after.native) / 2;
  const wasmRate = (before.wasm + after.wasm) / 2;
  const allCores = nativeRate * cores;
  const batchS = blindS + round1S + startS + round2S + finishS;
  const floorS = (N * (2 + T)) / allCores;
  const poolEvals = (N * T) / round1S;
  const asyncEvals = N / asyncHolderS;
  const provenEvals = N / provenS;
  const asyncMults = N / asyncS;
  const nativeCpuRate = (before.nativeCpu + after.nativeCpu) / 2;
  const wasmCpuRate = (before.wasmCpu + after.wasmCpu) / 2;
  const holderCpuRatio = (N * T) / round1Cpu / nativeCpuRate;
  const batchCpuFloor = (N * (2 + T)) / nativeCpuRate;

  const rows: [string, string, string][] = [
    ["native scalar mult / s / core (baseline)", nativeRate.toFixed(0), "1.00"],
    ["  (before / after)", `${before.native.toFixed(0)} / ${after.native.toFixed(0)}`, ""],
    ["WASM scalar mult / s / core, same run", wasmRate.toFixed(0), (wasmRate / nativeRate).toFixed(2)],
    ["  native ÷ WASM", "", (nativeRate / wasmRate).toFixed(2)],
    [
      `native async (libuv, ${cores} jobs) mults / s`,
      asyncMults.toFixed(0),
      (asyncMults / allCores).toFixed(2),
    ],
    ["holder round 1 evaluations / s, pool", poolEvals.toFixed(0), (poolEvals / allCores).toFixed(2)],
    [
      "holder round 1 evaluations / s, libuv async",
      asyncEvals.toFixed(0),
      (asyncEvals / allCores).toFixed(2),
    ],
    [
      "holder proven evaluations / s (2 mults each), pool",
      provenEvals.toFixed(0),
      ((2 * provenEvals) / allCores).toFixed(2),
    ],
    [
      `${N}-identifier 2-of-3 batch, s (floor ${floorS.toFixed(2)})`,
      batchS.toFixed(2),
      (batchS / floorS).toFixed(2),
    ],
    [
      "  phases: blind / holders r1 / start / holders r2 / finish, s",
      [blindS, round1S, startS, round2S, finishS].map((x) => x.toFixed(2)).join(" / "),
      "",
    ],
    ["CPU time: native mults / CPU s (baseline)", nativeCpuRate.toFixed(0), "1.00"],
    [
      "CPU time: holder round 1 evaluations / CPU s",
      ((N * T) / round1Cpu).toFixed(0),
      holderCpuRatio.toFixed(2),
    ],
    [
      `CPU time: ${N}-identifier batch, CPU s (floor ${batchCpuFloor.toFixed(2)})`,
      batchCpu.toFixed(2),
      (batchCpu / batchCpuFloor).toFixed(2),
    ],
    ...msmRows.map((m): [string, string, string] => [
      `CPU time: MSM n = ${m.n}, µs / term (vs native mult ${m.perMul.toFixed(1)} µs)`,
      m.perTerm.toFixed(2),
      m.ratio.toFixed(3),
    ]),
    ["load average (1 min) at start / end", `${loadStart} / ${load()}`, ""],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${"figure".padEnd(w0)}  ${"value".padStart(w1)}  ratio`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  console.log(
    `BENCH native ${JSON.stringify({
      n: N,
      cores,
      sodium: nativeGroup.sodiumVersion,
      nativeMulPerCore: Math.round(nativeRate),
      wasmMulPerCore: Math.round(wasmRate),
      nativeOverWasm: +(nativeRate / wasmRate).toFixed(2),
      asyncMultsRatio: +(asyncMults / allCores).toFixed(2),
      holderPoolRatio: +(poolEvals / allCores).toFixed(2),
      holderAsyncRatio: +(asyncEvals / allCores).toFixed(2),
      holderProvenRatio: +((2 * provenEvals) / allCores).toFixed(2),
      batchS: +batchS.toFixed(2),
      batchFloorRatio: +(batchS / floorS).toFixed(2),
      nativeMulPerCpuS: Math.round(nativeCpuRate),
      wasmMulPerCpuS: Math.round(wasmCpuRate),
      nativeOverWasmCpu: +(nativeCpuRate / wasmCpuRate).toFixed(2),
      holderCpuRatio: +holderCpuRatio.toFixed(2),
      batchCpuFloorRatio: +(batchCpu / batchCpuFloor).toFixed(2),
      batchCpuS: +batchCpu.toFixed(2),
      msmPerTermOverMul: Object.fromEntries(msmRows.map((m) => [m.n, +m.ratio.toFixed(3)])),
      load: [loadStart, load()],
    })}`,
  );
} finally {
  await pool.close();
  await wasmPool.close();
}
