/**
 * `npm run bench -- receipt`: offline receipt verification, in process and as the `relink receipt verify`
 * command, each beside a same-run baseline.
 *  - in process: `verifyReceipt` (default engine: node:crypto Ed25519 on Node), the browser engine (noble)
 *    and `verifyReceiptAsync` (WebCrypto) on one receipt (a 2^20-leaf tree: 20-hash proof, the log
 *    signature and 1 witness cosignature); floor = 2 raw node:crypto Ed25519 verifications + 21 SHA-256,
 *    timed in rounds interleaved with the verifiers (median of the per-round ratios).
 *  - the command: wall time of `node apps/member-node/bin/relink.js receipt verify …` (the installed `relink`,
 *    compile cache warm; median of 7), cold (cache off) and through src/cli.ts, against a bare `node -e 0`
 *    started the same way in the same rounds (median of 7) — process start is the part no code can save.
 * `--leaves N` for another tree size. Goals (issue 13): in process ≤ 1 ms, the command ≤ 0.5 s.
 */
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, hash, sign as nodeSign, verify as nodeVerify, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyEd25519Noble, verifyReceipt, verifyReceiptAsync } from "@relink/tlog";
import { sampleReceipt } from "@relink/tlog/testing";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const LEAVES = arg("leaves", 2 ** 20);
const rnd = (n: number) => new Uint8Array(randomBytes(n));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function perCall(n: number, f: () => unknown): number {
  for (let i = 0; i < Math.min(20, n); i++) f();
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t) / n;
}

async function main() {
  const { receipt, proofLength, trust } = await sampleReceipt(LEAVES, rnd);
  if (!verifyReceipt(receipt, trust).ok) throw new Error("receipt does not verify");
  if (!verifyReceipt(receipt, trust, verifyEd25519Noble).ok) throw new Error("noble path rejects");

  const out: Record<string, number> = { leaves: LEAVES, proof_hashes: proofLength };
  // Baseline: raw OpenSSL Ed25519 verification of the checkpoint signature, and SHA-256 of 64 bytes.
  const msg = rnd(200);
  const { privateKey, publicKey: pk } = generateKeyPairSync("ed25519");
  const sig = nodeSign(null, msg, privateKey);
  const sha = (b: Uint8Array) => hash("sha256", b, "buffer"); // the one-shot hash, as tlog uses on Node
  const floorCall = () => {
    nodeVerify(null, msg, pk, sig);
    nodeVerify(null, msg, pk, sig);
    for (let i = 0; i <= proofLength; i++) sha(msg.subarray(0, 64));
  };
  // Interleaved rounds: the floor and each verifier take turns in short blocks, so a burst of load from
  // other processes hits them alike; each figure is the median over rounds, each ratio the median of the
  // per-round ratios.
  const ROUNDS = 15;
  const per: Record<"floor" | "raw" | "sha" | "verify" | "async", number[]> = {
    floor: [],
    raw: [],
    sha: [],
    verify: [],
    async: [],
  };
  const ratios: number[] = [];
  const asyncRatios: number[] = [];
  for (let i = 0; i < 20; i++) await verifyReceiptAsync(receipt, trust);
  for (let r = 0; r < ROUNDS; r++) {
    per.raw.push(perCall(100, () => nodeVerify(null, msg, pk, sig)));
    per.sha.push(perCall(1000, () => sha(msg.subarray(0, 64))));
    const floor = perCall(150, floorCall);
    const v = perCall(150, () => verifyReceipt(receipt, trust));
    const ta = performance.now();
    for (let i = 0; i < 150; i++) await verifyReceiptAsync(receipt, trust);
    const a = (performance.now() - ta) / 150;
    per.floor.push(floor);
    per.verify.push(v);
    per.async.push(a);
    ratios.push(v / floor);
    asyncRatios.push(a / floor);
  }
  const floorMs = median(per.floor);
  out["raw_ed25519_verify_ms"] = round(median(per.raw), 4);
  out["sha256_ms"] = round(median(per.sha), 5);
  out["floor_ms"] = round(floorMs, 4);
  out["verify_ms"] = round(median(per.verify), 4);
  out["verify_ratio"] = round(median(ratios), 3);
  out["verify_async_ms"] = round(median(per.async), 4);
  out["verify_async_ratio"] = round(median(asyncRatios), 3);
  out["verify_noble_ms"] = round(
    perCall(300, () => verifyReceipt(receipt, trust, verifyEd25519Noble)),
    4,
  );

  const dir = mkdtempSync(join(tmpdir(), "relink-receipt-bench-"));
  try {
    const file = join(dir, "receipt.json");
    writeFileSync(file, receipt);
    // The installed command is bin/relink.js (compile cache on, in a fresh directory of this run);
    // "cold" is the same command with the cache off, src/cli.ts the TypeScript entry run directly.
    const bin = join(import.meta.dirname, "../bin/relink.js");
    const cli = join(import.meta.dirname, "../src/cli.ts");
    const cacheDir = join(dir, "compile-cache");
    const wall = (args: string[], cache = cacheDir) => {
      const env: NodeJS.ProcessEnv = { ...process.env, RELINK_COMPILE_CACHE: cache };
      delete env["NODE_COMPILE_CACHE"];
      const t = performance.now();
      const r = spawnSync(process.execPath, args, { encoding: "utf8", env });
      const ms = performance.now() - t;
      if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
      return ms;
    };
    const verifyArgs = [
      "receipt",
      "verify",
      file,
      "--log-key",
      trust.logKey,
      "--witness",
      trust.witnesses[0]!,
    ];
    const runs: Record<string, number[]> = { bare: [], warm: [], cold: [], ts: [], all: [] };
    wall(["-e", "0"]);
    wall([bin, ...verifyArgs]); // fills the cache
    for (let i = 0; i < 7; i++) {
      runs["bare"]!.push(wall(["-e", "0"]));
      runs["warm"]!.push(wall([bin, ...verifyArgs]));
      runs["cold"]!.push(wall([bin, ...verifyArgs], "off"));
      runs["ts"]!.push(wall([cli, ...verifyArgs], "off"));
      // `--version` is claimed by no group, so it loads all of them: what every command cost before.
      runs["all"]!.push(wall([cli, "--version"], "off"));
    }
    out["node_start_ms"] = Math.round(median(runs["bare"]!));
    out["cli_verify_ms"] = Math.round(median(runs["warm"]!));
    out["cli_verify_cold_ms"] = Math.round(median(runs["cold"]!));
    out["cli_ts_entry_ms"] = Math.round(median(runs["ts"]!));
    out["cli_all_groups_ms"] = Math.round(median(runs["all"]!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const rows: string[][] = [
    [
      "verifyReceipt, node:crypto Ed25519 (ms)",
      String(out["verify_ms"]),
      `floor ${out["floor_ms"]} ms`,
      out["verify_ratio"]!.toFixed(2),
      "≤ 1 ms",
    ],
    [
      "verifyReceipt, noble Ed25519 (browser path) (ms)",
      String(out["verify_noble_ms"]),
      `floor ${out["floor_ms"]} ms`,
      (out["verify_noble_ms"]! / floorMs).toFixed(2),
      "—",
    ],
    [
      "verifyReceiptAsync, WebCrypto (ms)",
      String(out["verify_async_ms"]),
      `floor ${out["floor_ms"]} ms`,
      out["verify_async_ratio"]!.toFixed(2),
      "—",
    ],
    [
      "`relink receipt verify` wall, bin/relink.js with its compile cache (ms, median of 7)",
      String(out["cli_verify_ms"]),
      `bare node start ${out["node_start_ms"]} ms`,
      (out["cli_verify_ms"]! / out["node_start_ms"]!).toFixed(2),
      "≤ 500 ms",
    ],
    [
      "same, compile cache off (first run after an install or upgrade)",
      String(out["cli_verify_cold_ms"]),
      `bare node start ${out["node_start_ms"]} ms`,
      (out["cli_verify_cold_ms"]! / out["node_start_ms"]!).toFixed(2),
      "—",
    ],
    [
      "same through src/cli.ts (TypeScript entry, no cache)",
      String(out["cli_ts_entry_ms"]),
      `bare node start ${out["node_start_ms"]} ms`,
      (out["cli_ts_entry_ms"]! / out["node_start_ms"]!).toFixed(2),
      "—",
    ],
    [
      "`relink --version` wall, every group loaded (the old start-up)",
      String(out["cli_all_groups_ms"]),
      `bare node start ${out["node_start_ms"]} ms`,
      (out["cli_all_groups_ms"]! / out["node_start_ms"]!).toFixed(2),
      "—",
    ],
  ];
  console.log(`receipt over ${LEAVES} leaves (${proofLength}-hash proof), log signature + 1 cosignature`);
  console.log("\n| measure | value | same-run baseline | ratio | goal |\n|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  const goals = { verify_le_1ms: out["verify_ms"]! <= 1, cli_le_500ms: out["cli_verify_ms"]! <= 500 };
  console.log(`goals: ${JSON.stringify(goals)}`);
  console.log(`BENCH receipt ${JSON.stringify(out)}`);
}

await main();
