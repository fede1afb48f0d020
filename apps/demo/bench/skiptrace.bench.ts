/**
 * `npm run bench -- skiptrace [--records N] [--debtors N]`: the skip-trace network end to end on this
 * machine — a real hub and 3 key holders (2-of-3) as processes (apps/demo/src/network.ts), on embedded
 * PGlite, or on PostgreSQL when BENCH_DATABASE_URL is set (a fresh database, dropped afterwards).
 *
 * - publish: a directory of N records (default 10^6): N/2 synthetic subjects with one identifier each and
 *   two contacts (phone, address), through MemberNode.publishContacts in this process with the psi
 *   worker pool for blinding and combining; key holders evaluate over HTTP; the hub stores the records;
 * - match: D debtors (default 10^4), half of them published subjects, through MemberNode.match (tags
 *   through the key holders, lookups through the hub, labels opened). Their consents are registered
 *   first, outside the timed part.
 *
 * Baseline: raw ristretto255 scalar multiplications per second per core on the backend the member process
 * chose at start-up (native libsodium when its addon loads, else WASM: ADR 0019; the key holders choose the
 * same way), measured on the pool's workers with all of them busy, mean of a measurement before and after
 * the timed parts; the WASM rate is measured beside it for the ratio. `--group sodium` forces WASM in this
 * process. Floors
 * (docs/benchmarks.md explains the count): identifiers × multiplications per identifier ÷ (rate × cores),
 * where the protocol floor counts what the 2-of-3 threshold VOPRF with the combined check (ADR 0013, the
 * SDK's default) does per identifier (1 blind + t evaluations + composite M + t unblind-combine + composite
 * C = 3 + 2t; per-holder batch proofs, before ADR 0013, needed 1 + 5t) and the minimal floor only blind +
 * t evaluations + one unblind (2 + t).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fromHex } from "@relink/protocol";
import { loadSodiumGroup, loadSodiumSymmetric, nobleSymmetric } from "@relink/psi";
import { createOprfPool } from "@relink/psi/pool";
import { chooseNodeGroup } from "@relink/ristretto-native";
import { type ContactRow, type DebtorRow, ed25519Signer, MemberNode, pooled } from "@relink/sdk";
import { addMember, startNetwork } from "../src/network.ts";
import { freshServerDatabase } from "../src/postgres.ts";
import {
  machineCpuSeconds,
  processCpuSeconds,
  selfCpuSeconds,
  threadCpuDelta,
  threadCpuSeconds,
} from "./cpu.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "1000000" },
    debtors: { type: "string", default: "10000" },
    group: { type: "string", default: "native" },
    symmetric: { type: "string", default: "sodium" },
  },
});
const RECORDS = Number(values.records);
const DEBTORS = Number(values.debtors);
if (!(RECORDS >= 2 && RECORDS % 2 === 0 && DEBTORS >= 2 && DEBTORS % 2 === 0 && RECORDS >= DEBTORS)) {
  // Present debtors are distinct published subjects, so every debtor costs one evaluation.
  throw new Error("--records and --debtors must be even, ≥ 2, and records ≥ debtors");
}
const SUBJECTS = RECORDS / 2;
const T = 2;
const HOLDERS = 3;
const cores = availableParallelism();
const serverUrl = process.env["BENCH_DATABASE_URL"];
const backend = serverUrl ? "postgres" : "pglite";

/** Canonical resident-ID-like identifiers (the hub never sees them; the member node only hashes them). */
const subjectId = (i: number) => `cn-id:1101011990${String(i).padStart(8, "0")}`;
const absentId = (i: number) => `cn-id:3101011985${String(i).padStart(8, "0")}`;

function contactRows(): ContactRow[] {
  const rows: ContactRow[] = new Array(RECORDS);
  for (let i = 0; i < SUBJECTS; i++) {
    const subjects = [subjectId(i)];
    const base = { firstSeen: "2025-03-01", lastSeen: "2026-10-01", confidence: 80 } as const;
    rows[2 * i] = {
      row: 2 * i + 2,
      subjects,
      contact: {
        kind: "phone",
        value: `+86139${String(i).padStart(8, "0")}`,
        sourceType: "application",
        ...base,
      },
    };
    rows[2 * i + 1] = {
      row: 2 * i + 3,
      subjects,
      contact: {
        kind: "address",
        value: `北京市朝阳区建国路${i}号`,
        sourceType: "transaction",
        ...base,
      },
    };
  }
  return rows;
}

/** CPU seconds used so far by this process (all threads) and by the network's processes (Linux /proc). */
function cpuSeconds(pids: { hub: number; holders: number[] }) {
  return {
    member: selfCpuSeconds(),
    holders: pids.holders.reduce((a, p) => a + processCpuSeconds(p), 0),
    hub: processCpuSeconds(pids.hub),
    machine: machineCpuSeconds(),
  };
}
type Cpu = ReturnType<typeof cpuSeconds>;
/** CPU seconds of each party between two readings; `others` is what other processes on the machine used. */
const cpuDelta = (a: Cpu, b: Cpu) => {
  const member = b.member - a.member;
  const holders = b.holders - a.holders;
  const hub = b.hub - a.hub;
  return { member, holders, hub, others: Math.max(0, b.machine - a.machine - member - holders - hub) };
};
type CpuUse = ReturnType<typeof cpuDelta>;

/**
 * RELINK_BENCH_PROFILE_DIR: a V8 CPU profile of this process's main thread for each timed part only
 * (publish.cpuprofile, match.cpuprofile); the key holders and the hub profile themselves with
 * RELINK_CPU_PROF_DIR (apps/demo/src/processes.ts).
 */
const profileDir = process.env["RELINK_BENCH_PROFILE_DIR"];
async function profiled<T>(name: string, f: () => Promise<T>): Promise<T> {
  if (!profileDir) return f();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await f();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(profileDir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

const dir = mkdtempSync(join(tmpdir(), "relink-bench-skiptrace-"));
const serverDb = serverUrl ? await freshServerDatabase(serverUrl, "relink_bench") : undefined;
const net = await startNetwork({
  dir,
  ...(serverDb ? { databaseUrl: serverDb.url } : {}),
  checkpointIntervalMs: 2000,
  // A benchmark, not a network: the holders' caps and the hub's consent quota are lifted.
  evaluationCaps: { default: 100_000_000 },
  abuse: { dailyConsentRegistrations: 100_000_000 },
});
const chosen = await chooseNodeGroup({ prefer: values.group === "sodium" ? "sodium" : "native" });
const pool = await createOprfPool(chosen.pool);
// `--symmetric noble` keeps HKDF, HMAC and label sealing on noble (the browser's path) for comparison.
const symmetric = values.symmetric === "noble" ? nobleSymmetric : await loadSodiumSymmetric();
const wasmPool = await createOprfPool({ group: await loadSodiumGroup() });
const loadAtStart = loadavg()[0]!;
try {
  const quota = { lookupQuota: 100_000_000, evaluationQuota: 100_000_000 };
  await addMember(net, {
    slug: "bench-lender",
    name: "Bench lender",
    kind: "bank",
    capabilities: ["lender"],
    ...quota,
  });
  await addMember(net, {
    slug: "bench-collector",
    name: "Bench collector",
    kind: "collection_agency",
    capabilities: ["collector"],
    ...quota,
  });
  // Key holders learn members from the hub's directory (TTL 2 s in the demo network).
  await new Promise((r) => setTimeout(r, 2500));
  const secrets = (slug: string) => {
    const home = JSON.parse(readFileSync(join(net.homeDir(slug), "member.json"), "utf8"));
    return { signer: ed25519Signer(fromHex(home.signingSecretKey)), recordKey: fromHex(home.recordKey) };
  };
  const marks = new Map<string, number>();
  const shown = new Map<string, number>();
  const node = (slug: string) =>
    MemberNode.connect({
      hubUrl: net.hubUrl,
      secrets: secrets(slug),
      crypto: pooled(pool, symmetric),
      onProgress: (stage, done, total) => {
        if (done === total && !marks.has(stage)) marks.set(stage, performance.now());
        const tenth = Math.floor((10 * done) / total);
        if (total >= 100_000 && tenth > (shown.get(stage) ?? 0)) {
          shown.set(stage, tenth);
          process.stderr.write(`  … ${stage} ${done}/${total}\n`);
        }
      },
    });
  const lender = await node("bench-lender");
  const collector = await node("bench-collector");

  // Warm-up: JIT, WASM and connections, on identifiers outside the benchmark's sets.
  await pool.measureMulRate(500);
  await collector.tags(
    Array.from({ length: 2000 }, (_, i) => `cn-id:9901011970${String(i).padStart(8, "0")}`),
  );
  // Also per CPU second of this process (the pool's threads): robust to other sessions taking cores.
  const cpuRates: number[] = [];
  const rate = async () => {
    const c0 = selfCpuSeconds();
    const r = await pool.measureMulRate(4000);
    cpuRates.push((4000 * r.length) / (selfCpuSeconds() - c0));
    return r.reduce((a, b) => a + b, 0) / r.length;
  };
  const before = await rate();

  const pids = { hub: net.hub.child.pid!, holders: net.holders.map((h) => h.child.pid!) };

  // (a) publish
  const rows = contactRows();
  marks.clear();
  const c0 = cpuSeconds(pids);
  const th0 = threadCpuSeconds();
  const t0 = performance.now();
  const published = await profiled("publish", () => lender.publishContacts(rows));
  const publishS = (performance.now() - t0) / 1000;
  const publishCpu = cpuDelta(c0, cpuSeconds(pids));
  const publishThreads = threadCpuDelta(th0, threadCpuSeconds());
  const tagsS = ((marks.get("tags") ?? t0) - t0) / 1000;
  if (published.records !== RECORDS) throw new Error(`published ${published.records} of ${RECORDS}`);

  // (b) match: consents first (not timed), then the match through the hub.
  const debtors: DebtorRow[] = Array.from({ length: DEBTORS }, (_, i) => ({
    row: i + 2,
    ref: `D-${i}`,
    subjects: [i % 2 === 0 ? subjectId(Math.floor((i / 2) * (SUBJECTS / (DEBTORS / 2)))) : absentId(i)],
  }));
  await collector.importConsents(
    debtors.map((d) => ({
      row: d.row,
      ref: d.ref,
      subjects: d.subjects,
      purpose: "debt_collection",
      legalBasis: "contract_performance",
      dataCategories: ["contact"],
      grantedAt: "2026-01-01T00:00:00.000Z",
      expiresAt: "2027-12-31T00:00:00.000Z",
      evidenceSha256: createHash("sha256").update(`bench-evidence-${d.ref}`).digest("hex"),
    })),
  );
  marks.clear();
  const c1 = cpuSeconds(pids);
  const th1 = threadCpuSeconds();
  const t1 = performance.now();
  const matched = await profiled("match", () => collector.match(debtors, "debt_collection", "bench-case"));
  const matchS = (performance.now() - t1) / 1000;
  const matchCpu = cpuDelta(c1, cpuSeconds(pids));
  const matchThreads = threadCpuDelta(th1, threadCpuSeconds());
  const matchTagsS = ((marks.get("tags") ?? t1) - t1) / 1000;
  const hits = matched.results.filter((r) => r.status === "matched");
  if (hits.length !== DEBTORS / 2 || hits.some((r) => r.contacts.length !== 2) || matched.unreadable > 0) {
    throw new Error(`match: ${hits.length} matched of ${DEBTORS / 2} expected`);
  }

  const after = await rate();
  const baseline = (before + after) / 2;
  const cpuRate = cpuRates.reduce((a, b) => a + b, 0) / cpuRates.length;
  // CPU-time floors: the minimal 2 + t multiplications per identifier at the per-CPU-second rate, against
  // the member's and the holders' CPU seconds (the hub's storage work is not crypto).
  const publishCpuFloor = (SUBJECTS * (2 + T)) / cpuRate;
  const matchCpuFloor = (DEBTORS * (2 + T)) / cpuRate;
  const wasmRate = (await wasmPool.measureMulRate(2000)).reduce((a, b) => a + b, 0) / cores;
  const loadAtEnd = loadavg()[0]!;
  const perS = baseline * cores;
  const protocolMults = 3 + 2 * T;
  const minimalMults = 2 + T;
  const publishFloor = (SUBJECTS * protocolMults) / perS;
  const publishFloorMin = (SUBJECTS * minimalMults) / perS;
  const matchFloor = (DEBTORS * protocolMults) / perS;
  const matchFloorMin = (DEBTORS * minimalMults) / perS;

  const roundCpu = (c: CpuUse) => ({
    member: +c.member.toFixed(1),
    holders: +c.holders.toFixed(1),
    hub: +c.hub.toFixed(1),
    others: +c.others.toFixed(1),
  });
  const fmtCpu = (c: CpuUse) =>
    `${c.member.toFixed(1)} / ${c.holders.toFixed(1)} / ${c.hub.toFixed(1)} / ${c.others.toFixed(1)}`;
  const perTag = (c: CpuUse, tags: number) =>
    [c.member, c.holders, c.hub].map((x) => ((x * 1e6) / tags).toFixed(0)).join(" / ");
  const fmtThreads = (t: Record<string, number>) =>
    Object.entries(t)
      .filter(([, v]) => v >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(", ");
  // Other sessions share the machine: the floor on the cores they left us, as a second reading.
  const leftCores = (c: CpuUse, wall: number) => Math.max(0.5, cores - c.others / wall);
  const publishFloorLeft = (SUBJECTS * protocolMults) / (baseline * leftCores(publishCpu, publishS));
  const matchFloorLeft = (DEBTORS * protocolMults) / (baseline * leftCores(matchCpu, matchS));
  const label = RECORDS === 1_000_000 ? "10^6" : RECORDS.toLocaleString("en");
  const rowsOut: [string, string, string][] = [
    [`raw ${pool.backend} scalar mult / s / core (baseline)`, baseline.toFixed(0), "1.00"],
    ["  (before / after)", `${before.toFixed(0)} / ${after.toFixed(0)}`, ""],
    ["  WASM scalar mult / s / core (after)", wasmRate.toFixed(0), (wasmRate / baseline).toFixed(2)],
    ["  load average (1 min) at start / end", `${loadAtStart.toFixed(2)} / ${loadAtEnd.toFixed(2)}`, ""],
    [`publish ${label} records (${SUBJECTS} tags), s`, publishS.toFixed(1), ""],
    [
      `  vs protocol floor ${publishFloor.toFixed(1)} s (${protocolMults} mults/tag)`,
      "",
      (publishS / publishFloor).toFixed(2),
    ],
    [
      `  vs minimal floor ${publishFloorMin.toFixed(1)} s (${minimalMults} mults/tag)`,
      "",
      (publishS / publishFloorMin).toFixed(2),
    ],
    [
      `  vs protocol floor on cores left by others ${publishFloorLeft.toFixed(1)} s`,
      "",
      (publishS / publishFloorLeft).toFixed(2),
    ],
    ["  records / s", (RECORDS / publishS).toFixed(0), ""],
    [
      `  CPU s member + holders vs minimal floor ${publishCpuFloor.toFixed(1)} CPU s (${cpuRate.toFixed(0)} mults/CPU s)`,
      (publishCpu.member + publishCpu.holders).toFixed(1),
      ((publishCpu.member + publishCpu.holders) / publishCpuFloor).toFixed(2),
    ],
    ["  tags done at, s", tagsS.toFixed(1), ""],
    ["  CPU s: member (pool) / holders / hub / others", fmtCpu(publishCpu), ""],
    ["  CPU µs per tag: member / holders / hub", perTag(publishCpu, SUBJECTS), ""],
    [`  minimal floor per tag (${2 + T} mults), CPU µs`, ((1e6 * (2 + T)) / cpuRate).toFixed(0), ""],
    ["  member threads, CPU s", fmtThreads(publishThreads), ""],
    [`match ${DEBTORS} debtors (half present; consents untimed), s`, matchS.toFixed(2), ""],
    [`  vs protocol floor ${matchFloor.toFixed(2)} s`, "", (matchS / matchFloor).toFixed(2)],
    [`  vs minimal floor ${matchFloorMin.toFixed(2)} s`, "", (matchS / matchFloorMin).toFixed(2)],
    [
      `  vs protocol floor on cores left by others ${matchFloorLeft.toFixed(2)} s`,
      "",
      (matchS / matchFloorLeft).toFixed(2),
    ],
    [
      `  CPU s member + holders vs minimal floor ${matchCpuFloor.toFixed(2)} CPU s`,
      (matchCpu.member + matchCpu.holders).toFixed(2),
      ((matchCpu.member + matchCpu.holders) / matchCpuFloor).toFixed(2),
    ],
    ["  tags done at, s", matchTagsS.toFixed(2), ""],
    ["  CPU s: member (pool) / holders / hub / others", fmtCpu(matchCpu), ""],
    ["  CPU µs per tag: member / holders / hub", perTag(matchCpu, DEBTORS), ""],
    ["  member threads, CPU s", fmtThreads(matchThreads), ""],
  ];
  console.log(
    `backend=${backend} cores=${cores} pool=${pool.size} holders=${HOLDERS} t=${T} records=${RECORDS} debtors=${DEBTORS}`,
  );
  for (const [a, b, c] of rowsOut) console.log(`${a.padEnd(56)} ${b.padStart(16)} ${c.padStart(6)}`);
  console.log(
    `BENCH skiptrace ${JSON.stringify({
      backend,
      cores,
      records: RECORDS,
      debtors: DEBTORS,
      group: pool.backend,
      baseline_mults_per_s: Math.round(baseline),
      wasm_mults_per_s: Math.round(wasmRate),
      mults_per_cpu_s: Math.round(cpuRate),
      publish_cpu_ratio_min: +((publishCpu.member + publishCpu.holders) / publishCpuFloor).toFixed(3),
      match_cpu_ratio_min: +((matchCpu.member + matchCpu.holders) / matchCpuFloor).toFixed(3),
      load: [+loadAtStart.toFixed(2), +loadAtEnd.toFixed(2)],
      publish_1m_s: +publishS.toFixed(2),
      publish_floor_s: +publishFloor.toFixed(2),
      publish_ratio: +(publishS / publishFloor).toFixed(3),
      publish_floor_min_s: +publishFloorMin.toFixed(2),
      publish_ratio_min: +(publishS / publishFloorMin).toFixed(3),
      publish_ratio_cores_left: +(publishS / publishFloorLeft).toFixed(3),
      publish_records_per_s: Math.round(RECORDS / publishS),
      publish_tags_s: +tagsS.toFixed(2),
      publish_cpu_s: roundCpu(publishCpu),
      match_10k_s: +matchS.toFixed(3),
      match_floor_s: +matchFloor.toFixed(3),
      match_ratio: +(matchS / matchFloor).toFixed(3),
      match_floor_min_s: +matchFloorMin.toFixed(3),
      match_ratio_min: +(matchS / matchFloorMin).toFixed(3),
      match_ratio_cores_left: +(matchS / matchFloorLeft).toFixed(3),
      match_tags_s: +matchTagsS.toFixed(3),
      match_cpu_s: roundCpu(matchCpu),
      floor_us_per_tag: +((1e6 * (2 + T)) / cpuRate).toFixed(1),
      publish_threads_cpu_s: publishThreads,
      match_threads_cpu_s: matchThreads,
    })}`,
  );
} catch (error) {
  console.error(`hub output (tail):\n${net.hub.output().slice(-3000)}`);
  throw error;
} finally {
  await pool.close();
  await wasmPool.close();
  await net.stop();
  await serverDb?.drop();
  rmSync(dir, { recursive: true, force: true });
}
