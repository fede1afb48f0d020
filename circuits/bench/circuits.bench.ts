/**
 * `npm run bench -- circuits [--batch N] [--workers W]`: consent-membership proofs (depth-20 Poseidon tree,
 * Groth16 on BN254), each figure beside snarkjs measured in the same run on the same circuit and keys:
 *  - per query: our `prove` vs snarkjs `groth16.fullProve` (both multi-threaded, one proof at a time), and
 *    our `verifyMembership` (decode, rebuild the statement, verify) vs snarkjs `groth16.verify`;
 *  - per batch: N proofs (default 1000, the issue's figure; RELINK_BENCH_ZK_BATCH or --batch to shrink it on
 *    a loaded machine) on a worker pool of W workers (default: one per core) vs sequential raw fullProve,
 *    and vs W × snarkjs' single-threaded fullProve (what each worker did before ADR 0015), then verifying
 *    the batch one proof at a time. The 1-minute load average before and after the batch is printed;
 *  - where one proof's time goes (ADR 0048): a single-threaded prove on a pool worker's set-up (cached
 *    curve, compiled witness calculator, resident zkey), timed per phase from the prover's progress log —
 *    witness, the QAP (building A·B·C, 6 FFTs, joining) and each multi-exponentiation — and its CPU time
 *    beside snarkjs' groth16.prove on the same set-up (ADR 0015's worker).
 * Goals (issue #12): batch ≥ 2 proofs/s on 2 cores, verify ≤ 25 ms.
 */

import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { gunzipSync } from "node:zlib";
import {
  artifactUrl,
  type ConsentOpening,
  checkArtifact,
  consentLeaf,
  createProver,
  createProverPool,
  decodeProof,
  MANIFEST,
  membershipInput,
  PoseidonTree,
  prove,
  publicSignals,
  VERIFICATION_KEY,
  verifyMembership,
} from "@relink/zk";
import { groth16 } from "snarkjs";

function option(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : process.env[env];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: a positive integer`);
  return n;
}

const BATCH = option("batch", "RELINK_BENCH_ZK_BATCH", 1000);
const WORKERS = option("workers", "RELINK_BENCH_ZK_WORKERS", availableParallelism());
const SINGLE = option("single", "RELINK_BENCH_ZK_SINGLE", 5);
const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);

const load = (n: "wasm" | "zkey") =>
  checkArtifact(n, new Uint8Array(gunzipSync(readFileSync(artifactUrl(n)))));
const artifacts = { wasm: load("wasm"), zkey: load("zkey") };

// A book of BATCH consents (distinct tags), one proof per consent.
const openings: ConsentOpening[] = Array.from({ length: BATCH }, (_, i) => {
  const tag = new Uint8Array(32);
  new DataView(tag.buffer).setUint32(28, i + 1);
  return {
    tag,
    purpose: "debt_collection",
    category: "credit_exposure",
    legalBasis: "consent",
    expiresAt: NOW + 365 * 86_400_000,
    evidenceHash: new Uint8Array(32).fill(7),
    salt: new Uint8Array(31).fill(i % 251),
  };
});
let t = performance.now();
const tree = new PoseidonTree(undefined, openings.map(consentLeaf));
const treeMs = performance.now() - t;
const inputs = openings.map((o, i) => membershipInput(o, tree.path(i), tree.root(), NOW));
const statement = (i: number) => ({
  root: tree.root(),
  tag: openings[i]!.tag,
  purpose: "debt_collection",
  category: "credit_exposure",
  queryTime: NOW,
});

/** CPU milliseconds of this process (every thread, pool workers included) since `from`. */
const cpuMs = (from?: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
};

/** Wall and CPU time per call (CPU: every thread of the process — the load-independent figure). */
async function timeEach<T>(
  n: number,
  f: (i: number) => Promise<T>,
): Promise<{ ms: number; cpu: number; out: T[] }> {
  const out: T[] = [];
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < n; i++) out.push(await f(i));
  return { ms: (performance.now() - start) / n, cpu: cpuMs(cpu0) / n, out };
}

// Warm both paths (curve build, WASM compile).
await groth16.fullProve(
  inputs[0]!,
  { type: "mem", data: artifacts.wasm },
  { type: "mem", data: artifacts.zkey },
);
await prove(artifacts, inputs[0]!);
await groth16.verify(
  VERIFICATION_KEY,
  publicSignals(statement(0)),
  decodeProof((await prove(artifacts, inputs[0]!)).proof),
);
await verifyMembership(VERIFICATION_KEY, statement(0), (await prove(artifacts, inputs[0]!)).proof);

const single = Math.min(SINGLE, BATCH);
const raw = await timeEach(single, (i) =>
  groth16.fullProve(inputs[i]!, { type: "mem", data: artifacts.wasm }, { type: "mem", data: artifacts.zkey }),
);
const ours = await timeEach(single, (i) => prove(artifacts, inputs[i]!));
// What each pool worker did before ADR 0015: snarkjs fullProve single-threaded, which rebuilds the curve
// and recompiles the witness calculator on every proof.
const rawSingle = await timeEach(single, (i) =>
  groth16.fullProve(
    inputs[i]!,
    { type: "mem", data: artifacts.wasm },
    { type: "mem", data: artifacts.zkey },
    undefined,
    undefined,
    { singleThread: true },
  ),
);
const rawVerify = await timeEach(single, (i) =>
  groth16.verify(VERIFICATION_KEY, publicSignals(statement(i)), decodeProof(ours.out[i]!.proof)),
);
const ourVerify = await timeEach(single, (i) =>
  verifyMembership(VERIFICATION_KEY, statement(i), ours.out[i]!.proof),
);
if (!rawVerify.out.every(Boolean) || !ourVerify.out.every(Boolean)) throw new Error("a proof did not verify");

const loadBefore = loadavg()[0]!;
const pool = createProverPool(artifacts, WORKERS);
await pool.proveAll(inputs.slice(0, WORKERS)); // warm every worker
t = performance.now();
const batchCpu0 = process.cpuUsage();
const batch = await pool.proveAll(inputs);
const batchS = (performance.now() - t) / 1000;
const batchCpuMs = cpuMs(batchCpu0) / BATCH;
await pool.close();
t = performance.now();
const verifyCpu0 = process.cpuUsage();
let bad = 0;
for (let i = 0; i < BATCH; i++)
  if (!(await verifyMembership(VERIFICATION_KEY, statement(i), batch[i]!.proof))) bad++;
const batchVerifyMs = (performance.now() - t) / BATCH;
const batchVerifyCpuMs = cpuMs(verifyCpu0) / BATCH;
if (bad > 0) throw new Error(`${bad} batch proofs did not verify`);

const loadAfter = loadavg()[0]!;

// Where one proof's time goes: a pool worker's set-up (ADR 0015) in this thread — after everything else,
// since installing the single-threaded curve as snarkjs' shared curve changes what `prove` above would use.
const worker = await createProver(artifacts);
await worker.prove(inputs[0]!);
const phases = new Map<string, number>();
const PROFILED = Math.min(3, BATCH);
let profileCpu = 0;
for (let i = 0; i < PROFILED; i++) {
  const cpu0 = process.cpuUsage();
  let mark = performance.now();
  let label = "witness (circom WASM calculator) and zkey header";
  const close = (next: string) => {
    const now = performance.now();
    phases.set(label, (phases.get(label) ?? 0) + (now - mark) / PROFILED);
    mark = now;
    label = next;
  };
  const phaseOf = (m: string): string => {
    if (/^Reading Coeffs|^Building ABC|^QAP/.test(m)) return "QAP: read coefficients, build A·B·C";
    if (/FFT/.test(m)) return "QAP: 6 FFTs of the domain";
    if (/^Join|^JoinABC/.test(m)) return "QAP: join A·B − C";
    const r = /^Reading (A|B1|B2|C|H) Points/.exec(m) ?? /^multiexp (A|B1|B2|C|H)/.exec(m);
    return r ? `multi-exponentiation ${r[1]}${r[1] === "B2" ? " (G2)" : ""}` : label;
  };
  const logger = {
    debug: (m: string) => {
      const next = phaseOf(String(m));
      if (next !== label) close(next);
    },
    info: () => {},
    warn: () => {},
    error: () => {},
  };
  await worker.prove(inputs[i]!, { logger });
  close("done");
  profileCpu += cpuMs(cpu0) / PROFILED;
}
phases.delete("done");
const profileWall = [...phases.values()].reduce((a, b) => a + b, 0);
// The same worker set-up proving with snarkjs' groth16.prove (ADR 0015's worker): the resident prover's baseline.
const snarkjsWorker = await createProver(artifacts, { engine: "snarkjs" });
await snarkjsWorker.prove(inputs[0]!);
const snarkjsWorkerCpu = (await timeEach(PROFILED, (i) => snarkjsWorker.prove(inputs[i]!))).cpu;
const rawRate = 1000 / raw.ms;
const rawSingleRate = (WORKERS * 1000) / rawSingle.ms;
const batchRate = BATCH / batchS;
const rows: [string, string, string, string][] = [
  [
    "prove, one query",
    `${ours.ms.toFixed(0)} ms`,
    `snarkjs fullProve ${raw.ms.toFixed(0)} ms`,
    (raw.ms / ours.ms).toFixed(2),
  ],
  [
    "verify, one query",
    `${ourVerify.ms.toFixed(1)} ms`,
    `snarkjs verify ${rawVerify.ms.toFixed(1)} ms`,
    (rawVerify.ms / ourVerify.ms).toFixed(2),
  ],
  [
    `prove, batch of ${BATCH} (${WORKERS} workers)`,
    `${batchRate.toFixed(2)} proofs/s`,
    `sequential fullProve ${rawRate.toFixed(2)} proofs/s`,
    (batchRate / rawRate).toFixed(2),
  ],
  [
    `prove, batch of ${BATCH} (${WORKERS} workers)`,
    `${batchRate.toFixed(2)} proofs/s`,
    `${WORKERS} × single-threaded fullProve ${rawSingleRate.toFixed(2)} proofs/s (${rawSingle.ms.toFixed(0)} ms each)`,
    (batchRate / rawSingleRate).toFixed(2),
  ],
  [
    "CPU per proof: pool worker / single-threaded fullProve",
    `${batchCpuMs.toFixed(0)} ms`,
    `${rawSingle.cpu.toFixed(0)} ms`,
    (rawSingle.cpu / batchCpuMs).toFixed(2),
  ],
  [
    "CPU per proof, one worker: resident prover / snarkjs groth16.prove (ADR 0015)",
    `${profileCpu.toFixed(0)} ms`,
    `${snarkjsWorkerCpu.toFixed(0)} ms`,
    (snarkjsWorkerCpu / profileCpu).toFixed(2),
  ],
  [
    "CPU per verification: ours / snarkjs verify",
    `${ourVerify.cpu.toFixed(1)} ms`,
    `${rawVerify.cpu.toFixed(1)} ms`,
    (rawVerify.cpu / ourVerify.cpu).toFixed(2),
  ],
  [
    `verify, batch of ${BATCH}`,
    `${batchVerifyMs.toFixed(1)} ms/proof`,
    `snarkjs verify ${rawVerify.ms.toFixed(1)} ms`,
    (rawVerify.ms / batchVerifyMs).toFixed(2),
  ],
];
console.log(
  `consent membership: ${MANIFEST.constraints} constraints, depth ${MANIFEST.depth}; tree of ${BATCH} leaves built in ${treeMs.toFixed(0)} ms`,
);
console.log(
  `\nwhere one single-threaded proof goes (pool worker set-up, mean of ${PROFILED}; ${profileWall.toFixed(0)} ms wall, ${profileCpu.toFixed(0)} ms CPU):`,
);
console.log("| phase | ms | share |");
console.log("|---|---|---|");
for (const [k, v] of phases)
  console.log(`| ${k} | ${v.toFixed(0)} | ${((100 * v) / profileWall).toFixed(0)} % |`);
console.log("");
console.log("| operation | ours | baseline (same run) | speed-up |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(
  `BENCH circuits ${JSON.stringify({
    constraints: MANIFEST.constraints,
    batch: BATCH,
    workers: WORKERS,
    proveMs: Math.round(ours.ms),
    rawFullProveMs: Math.round(raw.ms),
    proveRatio: +(raw.ms / ours.ms).toFixed(3),
    verifyMs: +ourVerify.ms.toFixed(2),
    rawVerifyMs: +rawVerify.ms.toFixed(2),
    verifyRatio: +(rawVerify.ms / ourVerify.ms).toFixed(3),
    batchProofsPerS: +batchRate.toFixed(3),
    rawSequentialProofsPerS: +rawRate.toFixed(3),
    batchRatio: +(batchRate / rawRate).toFixed(3),
    rawSingleThreadMs: Math.round(rawSingle.ms),
    batchVsSingleThreadRatio: +(batchRate / rawSingleRate).toFixed(3),
    batchCpuMsPerProof: Math.round(batchCpuMs),
    rawSingleThreadCpuMs: Math.round(rawSingle.cpu),
    cpuRatio: +(rawSingle.cpu / batchCpuMs).toFixed(3),
    projectedProofsPerSOn2Cores: +(2000 / batchCpuMs).toFixed(2),
    verifyCpuMs: +ourVerify.cpu.toFixed(2),
    rawVerifyCpuMs: +rawVerify.cpu.toFixed(2),
    batchVerifyCpuMs: +batchVerifyCpuMs.toFixed(2),
    load1: [+loadBefore.toFixed(2), +loadAfter.toFixed(2)],
    batchVerifyMsPerProof: +batchVerifyMs.toFixed(2),
    profileMs: Object.fromEntries([...phases].map(([k, v]) => [k, Math.round(v)])),
    profileCpuMs: Math.round(profileCpu),
    snarkjsWorkerCpuMs: Math.round(snarkjsWorkerCpu),
    residentRatio: +(snarkjsWorkerCpu / profileCpu).toFixed(3),
    goals: { batchProofsPerS: batchRate >= 2, verifyMs: ourVerify.ms <= 25 },
  })}`,
);
process.exit(0);
