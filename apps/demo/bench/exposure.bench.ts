/**
 * `npm run bench -- exposure [--subjects N] [--lenders N] [--singles N]`: cross-lender exposure end to end
 * on this machine (docs/protocol/exposure-he.md) — the real hub and 3 key holders as processes
 * (apps/demo/src/network.ts), on embedded PGlite, or on PostgreSQL when BENCH_DATABASE_URL is set (a fresh
 * database, dropped afterwards).
 *
 * - 20 lenders (default), each a real SDK lender in this process: its own member identity and Ed25519
 *   signing key, its X25519 mask key registered (ensureMaskKey), its subjects registered through the hub
 *   (registerExposureBook), and serveExposure answering with answerExposureTask (masks, BFV encryption,
 *   binary submit). They run in this one thread, one after the other: a lender's measured time is then its
 *   own work on an otherwise idle core (the hub process has the other), as on a lender's own machine.
 * - Tags: the OPRF tags of the N subjects (default 10^5) are computed once through the real key holders
 *   (the querier's node, psi's worker pool) and shared by the lenders (a tag depends only on the
 *   identifier and the network key, so every lender would compute the same ones) — outside the timed part.
 * - The querier (`querier` capability) registers consents (purpose credit_assessment, category
 *   credit_exposure) for all N subjects by tag, outside the timed part.
 * - portfolio: one subjects-mode query of all N subjects (⌈9N / 4096⌉ ciphertexts per lender);
 *   single: S single-applicant queries (default 30), a different applicant each time (fresh HE key each
 *   time, no cache hit), through queryExposure end to end (tag through the key holders, query, decrypt).
 *   Budget: the portfolio spends 1 of the 12 units of every subject, a single query 1 more of its applicant.
 *
 * Baseline in the same run, before and after the timed parts (mean), with the other core idle and busy (a
 * worker thread encrypting; floors use the busy figures, as both cores are busy during the run): raw
 * node-seal 7 (a second WASM instance, the preset's parameters) encode + encrypt, add in place, re-randomise
 * (encrypt zero + add), decrypt + decode; @relink/he's load + validate of a ciphertext; OpenSSL's ChaCha20
 * keystream. Floors: a lender's = its ciphertexts × encrypt (with masks: + the keystream of its pairwise
 * masks); the hub's = additions + re-randomisations (with validation: + one load + validate per received
 * ciphertext), compared with the hub's own account of its HE work (absorbMs + finishMs in its log); the
 * querier's = its decryptions. docs/benchmarks.md has the figures and how to read them.
 */
import { createCipheriv, createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { type HeContext, loadHe, maskKeyPair, PRESETS } from "@relink/he";
import {
  attestConsentWith,
  EXPOSURE_FEATURES,
  type ExposureFeature,
  fromHex,
  toBase64Url,
} from "@relink/protocol";
import { createOprfPool } from "@relink/psi/pool";
import { seededFloats } from "@relink/psi/testing";
import { chooseNodeGroup } from "@relink/ristretto-native";
import {
  createExposureClient,
  type ExposureBook,
  type ExposureClient,
  type ExposureLoan,
  type ExposureServeLog,
  ed25519Signer,
  type LenderBook,
  MemberNode,
  memoryHeKeyStore,
  pooled,
  queryExposure,
  registerExposureBook,
  requestExposure,
  serveExposure,
} from "@relink/sdk";
import SEAL from "node-seal";
import { addMember, startNetwork } from "../src/network.ts";
import { freshServerDatabase } from "../src/postgres.ts";
import { machineCpuSeconds, processCpuSeconds, selfCpuSeconds } from "./cpu.ts";

const { values } = parseArgs({
  options: {
    subjects: { type: "string", default: "100000" },
    lenders: { type: "string", default: "20" },
    singles: { type: "string", default: "30" },
  },
});
const SUBJECTS = Number(values.subjects);
const LENDERS = Number(values.lenders);
const SINGLES = Number(values.singles);
if (!(SUBJECTS >= 100 && SUBJECTS <= 100_000 && LENDERS >= 3 && SINGLES >= 1 && SINGLES <= SUBJECTS)) {
  throw new Error("--subjects in [100, 100000], --lenders ≥ 3, --singles in [1, subjects]");
}
const PRESET = "bfv-4096-add-v1" as const;
const cores = availableParallelism();
const serverUrl = process.env["BENCH_DATABASE_URL"];
const backend = serverUrl ? "postgres" : "pglite";
const FEATURES = EXPOSURE_FEATURES.length;

const subjectId = (i: number) => `cn-id:1101011980${String(i).padStart(8, "0")}`;

// ------------------------------------------------------------------------------------ synthetic books

/** Deterministic numbers in [0, 1) (the tests' seeded source, ADR 0067): the same books every run. */
const rng = (seed: number): (() => number) => seededFloats(seed);

const TODAY = new Date().toISOString().slice(0, 10);
const daysAgo = (d: number) =>
  new Date(Date.parse(`${TODAY}T00:00:00Z`) - d * 86_400_000).toISOString().slice(0, 10);

/**
 * Which lenders hold subject s: three fixed ones (s, s+1, s+2 mod L, so every subject has k = 3 holders)
 * and each other lender with probability 0.35 — about 9 holders per subject, ~45,000 subjects per lender.
 */
function holders(): boolean[][] {
  const r = rng(42);
  const held = Array.from({ length: LENDERS }, () => new Array<boolean>(SUBJECTS).fill(false));
  for (let s = 0; s < SUBJECTS; s++) {
    for (let l = 0; l < LENDERS; l++) {
      const fixed = (l - (s % LENDERS) + LENDERS) % LENDERS < 3;
      held[l]![s] = fixed || r() < 0.35;
    }
  }
  return held;
}

function bookOf(lender: number, held: boolean[]): ExposureBook {
  const r = rng(1000 + lender);
  const loans: ExposureLoan[] = [];
  const subjects: string[] = [];
  for (let s = 0; s < SUBJECTS; s++) {
    if (!held[s]) continue;
    const subject = subjectId(s);
    subjects.push(subject);
    const n = 1 + Math.floor(r() * 3);
    for (let j = 0; j < n; j++) {
      const active = r() < 0.8;
      const dpd = r() < 0.85 ? 0 : Math.floor(r() * 200);
      loans.push({
        row: loans.length + 2,
        subject,
        loanId: `L${lender}-${s}-${j}`,
        status: active ? "active" : "closed",
        outstanding: active ? Math.floor(r() * 3_000_000) : 0,
        daysPastDue: dpd,
        openedOn: daysAgo(Math.floor(r() * 400)),
      });
    }
  }
  return { loans, subjects };
}

// ------------------------------------------------------------------------------------------ baselines

/** This thread's CPU time, ms (user + system): immune to other processes' turns on a loaded machine. */
const threadCpuMs = () => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

/** The CPU-time counterpart of the last `timeIt` (ms per call, median over rounds). */
let lastCpuMs = Number.NaN;

/** Median over rounds of the mean time per call (ms) of `f` in blocks; its CPU time in `lastCpuMs`. */
function timeIt(f: () => void, block: number, rounds = 5): number {
  for (let i = 0; i < 3; i++) f();
  const means: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const c0 = threadCpuMs();
    for (let i = 0; i < block; i++) f();
    cpus.push((threadCpuMs() - c0) / block);
    means.push((performance.now() - t0) / block);
  }
  means.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  lastCpuMs = cpus[Math.floor(rounds / 2)]!;
  return means[Math.floor(rounds / 2)]!;
}

interface Baseline {
  /** ChaCha20 keystream (OpenSSL through node:crypto), ns per byte: the pairwise masks' raw cost. */
  keystream_ns_per_byte: number;
  encrypt_ms: number;
  add_us: number;
  rerandomize_ms: number;
  decrypt_ms: number;
  /** CPU time of the same calls (this thread): the floors for the hub's and querier's CPU time. */
  cpu_add_us: number;
  cpu_rerandomize_ms: number;
  cpu_decrypt_ms: number;
  cpu_validate_ms: number;
  validate_ms: number;
}

/** Raw node-seal (own WASM instance) encrypt / add / re-randomise / decrypt; the facade's validation. */
async function measureBaseline(facade: HeContext): Promise<Baseline> {
  const raw = await SEAL();
  const p = PRESETS[PRESET];
  const parms = new raw.EncryptionParameters(raw.SchemeType.bfv);
  const coeff = raw.CoeffModulus.Create(p.polyModulusDegree, Int32Array.from(p.coeffModulusBits));
  const plain = raw.PlainModulus.Batching(p.polyModulusDegree, p.plainModulusBits);
  parms.setPolyModulusDegree(p.polyModulusDegree);
  parms.setCoeffModulus(coeff);
  parms.setPlainModulus(plain);
  const ctx = new raw.SEALContext(parms, true, raw.SecLevelType.tc128);
  const kg = new raw.KeyGenerator(ctx);
  const pk = kg.createPublicKey();
  const sk = kg.secretKey();
  const enc = new raw.Encryptor(ctx, pk);
  const dec = new raw.Decryptor(ctx, sk);
  const be = new raw.BatchEncoder(ctx);
  const ev = new raw.Evaluator(ctx);
  const t = facade.plainModulus;
  const slots = BigUint64Array.from({ length: p.polyModulusDegree }, (_, i) => (BigInt(i) * 2654435761n) % t);
  const out = {} as Baseline;
  const zeros = new Uint8Array(1 << 20);
  const key = new Uint8Array(32).fill(1);
  out.keystream_ns_per_byte =
    (1e6 * timeIt(() => createCipheriv("chacha20", key, new Uint8Array(16)).update(zeros), 20)) /
    zeros.length;
  out.encrypt_ms = timeIt(() => {
    const pt = new raw.Plaintext();
    const ct = new raw.Ciphertext();
    be.encode(slots, pt);
    enc.encrypt(pt, ct);
    pt.delete();
    ct.delete();
  }, 40);
  const pt0 = new raw.Plaintext();
  be.encode(slots, pt0);
  const a = new raw.Ciphertext();
  const b = new raw.Ciphertext();
  enc.encrypt(pt0, a);
  enc.encrypt(pt0, b);
  out.add_us = 1000 * timeIt(() => ev.addInplace(a, b), 1000);
  out.cpu_add_us = 1000 * lastCpuMs;
  out.rerandomize_ms = timeIt(() => {
    const z = new raw.Ciphertext();
    const o = new raw.Ciphertext();
    enc.encryptZero(z);
    ev.add(b, z, o);
    z.delete();
    o.delete();
  }, 40);
  out.cpu_rerandomize_ms = lastCpuMs;
  out.decrypt_ms = timeIt(() => {
    const x = new raw.Plaintext();
    dec.decrypt(b, x);
    be.decodeBigUint64(x);
    x.delete();
  }, 40);
  out.cpu_decrypt_ms = lastCpuMs;
  // Validation has no raw counterpart (SEAL's own load checks little): the facade's load + validate.
  const kp = facade.keygen();
  const c = facade.encrypt(kp.publicKey, new Array(facade.slotCount).fill(7));
  const bytes = facade.saveCiphertext(c);
  out.validate_ms = timeIt(() => facade.loadCiphertext(bytes).dispose(), 40);
  out.cpu_validate_ms = lastCpuMs;
  c.dispose();
  kp.dispose();
  for (const x of [pt0, a, b, enc, dec, be, ev, pk, sk, kg, ctx, parms, coeff, plain]) x.delete();
  return out;
}

/**
 * Keeps the other core busy with raw node-seal encryptions (a worker thread) while `f` runs: the baseline
 * "with both cores busy", as the portfolio runs (this process encrypting on one core, the hub validating and
 * querying its database on the other) — the skip-trace benchmark's baseline likewise has all workers busy.
 */
async function withOtherCoreBusy<T>(f: () => Promise<T>): Promise<T> {
  const seal = import.meta.resolve("node-seal");
  const p = PRESETS[PRESET];
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
     import(${JSON.stringify(seal)}).then(async (m) => {
       const raw = await m.default();
       const parms = new raw.EncryptionParameters(raw.SchemeType.bfv);
       parms.setPolyModulusDegree(${p.polyModulusDegree});
       parms.setCoeffModulus(raw.CoeffModulus.Create(${p.polyModulusDegree}, Int32Array.from(${JSON.stringify(p.coeffModulusBits)})));
       parms.setPlainModulus(raw.PlainModulus.Batching(${p.polyModulusDegree}, ${p.plainModulusBits}));
       const ctx = new raw.SEALContext(parms, true, raw.SecLevelType.tc128);
       const kg = new raw.KeyGenerator(ctx);
       const enc = new raw.Encryptor(ctx, kg.createPublicKey());
       const be = new raw.BatchEncoder(ctx);
       const slots = new BigUint64Array(${p.polyModulusDegree}).fill(5n);
       parentPort.postMessage("busy");
       for (;;) {
         const pt = new raw.Plaintext();
         const ct = new raw.Ciphertext();
         be.encode(slots, pt);
         enc.encrypt(pt, ct);
         pt.delete();
         ct.delete();
       }
     });`,
    { eval: true },
  );
  await new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  try {
    return await f();
  } finally {
    await worker.terminate();
  }
}

const meanBaseline = (x: Baseline, y: Baseline): Baseline =>
  Object.fromEntries(
    Object.keys(x).map((k) => [k, (x[k as keyof Baseline] + y[k as keyof Baseline]) / 2]),
  ) as unknown as Baseline;

// -------------------------------------------------------------------------------------- CPU readings

const procCpu = processCpuSeconds;
const machineCpu = machineCpuSeconds;
const selfCpu = selfCpuSeconds;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

interface HubHe {
  absorbMs: number;
  finishMs: number;
  absorbCpuMs: number;
  finishCpuMs: number;
  /** The query's hub wall time by phase: admission, rounds, audit leaf + receipt. */
  admitMs: number;
  roundsMs: number;
  auditMs: number;
}

/** The hub's `exposure.query` log line of a query (its HE work, wall and thread CPU). */
function hubQueryLog(output: string, queryId: string): HubHe {
  for (const line of output.split("\n")) {
    if (!line.includes(queryId) || !line.includes('"exposure.query"')) continue;
    const j = JSON.parse(line) as Partial<HubHe>;
    return {
      absorbMs: j.absorbMs ?? Number.NaN,
      finishMs: j.finishMs ?? Number.NaN,
      absorbCpuMs: j.absorbCpuMs ?? Number.NaN,
      finishCpuMs: j.finishCpuMs ?? Number.NaN,
      admitMs: j.admitMs ?? Number.NaN,
      roundsMs: j.roundsMs ?? Number.NaN,
      auditMs: j.auditMs ?? Number.NaN,
    };
  }
  return {
    absorbMs: Number.NaN,
    finishMs: Number.NaN,
    absorbCpuMs: Number.NaN,
    finishCpuMs: Number.NaN,
    admitMs: Number.NaN,
    roundsMs: Number.NaN,
    auditMs: Number.NaN,
  };
}

// --------------------------------------------------------------------------------------------- main

const dir = mkdtempSync(join(tmpdir(), "relink-bench-exposure-"));
const serverDb = serverUrl ? await freshServerDatabase(serverUrl, "relink_bench") : undefined;
const net = await startNetwork({
  dir,
  ...(serverDb ? { databaseUrl: serverDb.url } : {}),
  checkpointIntervalMs: 2000,
  // A benchmark, not a network: the holders' caps and the hub's consent quota are lifted.
  evaluationCaps: { default: 100_000_000 },
  abuse: { dailyConsentRegistrations: 100_000_000 },
  // A portfolio round of 20 lenders answering one after the other on one core takes longer than the
  // protocol's 5 s subjects-mode deadline; the deadline only matters when a lender misses it.
  exposure: { subjectsDeadlineMs: 300_000, aggregateDeadlineMs: 300_000, minHoldingHours: 0 },
});
// The member side's group, chosen as the member node chooses it (native when its addon loads: ADR 0019).
const pool = await createOprfPool((await chooseNodeGroup()).pool);
const stop = new AbortController();
const serving: Promise<unknown>[] = [];
try {
  const he = await loadHe();
  const ctx = he.context(PRESET);
  const setup0 = performance.now();
  const quota = { lookupQuota: 100_000_000, evaluationQuota: 100_000_000 };
  const querierSlug = "bench-querier";
  const lenderSlugs = Array.from(
    { length: LENDERS },
    (_, i) => `bench-lender-${String(i + 1).padStart(2, "0")}`,
  );
  const ids = new Map<string, string>();
  // Onboarding runs the `relink` CLI twice per member: a few at a time.
  const specs = [
    { slug: querierSlug, capabilities: ["querier"] as ("lender" | "querier")[] },
    ...lenderSlugs.map((slug) => ({ slug, capabilities: ["lender"] as ("lender" | "querier")[] })),
  ];
  for (let i = 0; i < specs.length; i += 4) {
    await Promise.all(
      specs.slice(i, i + 4).map(async (s) => {
        const id = await addMember(net, {
          slug: s.slug,
          name: s.slug,
          kind: "bank",
          capabilities: s.capabilities,
          ...quota,
        });
        ids.set(s.slug, id);
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 2500)); // key holders learn members from the hub (TTL 2 s)
  const signerOf = (slug: string) => {
    const home = JSON.parse(readFileSync(join(net.homeDir(slug), "member.json"), "utf8"));
    return { signer: ed25519Signer(fromHex(home.signingSecretKey)), recordKey: fromHex(home.recordKey) };
  };
  const querier = await MemberNode.connect({
    hubUrl: net.hubUrl,
    secrets: signerOf(querierSlug),
    crypto: pooled(pool),
  });
  const epoch = querier.network.epoch.epoch;

  // Tags once, through the key holders (shared by the lenders; not timed).
  const tags0 = performance.now();
  const allSubjects = Array.from({ length: SUBJECTS }, (_, i) => subjectId(i));
  const tagOf = await querier.tags(allSubjects);
  const tagsS = (performance.now() - tags0) / 1000;
  const tagText = allSubjects.map((s) => toBase64Url(tagOf.get(s)!.tag));

  // Consents of the querier, by tag, each signed (consent attestation) for its own case (not timed).
  const querierSigner = signerOf(querierSlug).signer;
  const attestation = { networkId: querier.network.epoch.networkId, memberId: querier.memberId };
  const digest = (s: string) => toBase64Url(createHash("sha256").update(s).digest());
  for (let i = 0; i < SUBJECTS; i += 10_000) {
    await querier.hub.consent.register.mutate({
      consents: await Promise.all(
        tagText.slice(i, i + 10_000).map((tag, j) =>
          attestConsentWith((m) => querierSigner.sign(m), attestation, {
            reference: `P-${i + j}`,
            tag,
            purpose: "credit_assessment",
            legalBasis: "consent",
            dataCategories: ["credit_exposure"],
            grantedAt: "2026-01-01T00:00:00.000Z",
            expiresAt: "2027-12-31T00:00:00.000Z",
            evidenceHash: digest(`bench-evidence-${i + j}`),
            caseCommitment: digest(`bench-case-${i + j}`),
          }),
        ),
      ),
    });
  }

  // Lenders: mask key, books, subjects registered through the hub (tags shared, not timed).
  const held = holders();
  interface Lender {
    slug: string;
    client: ExposureClient;
    book: LenderBook;
    maskSecret: Uint8Array;
    /** Timestamps of serveExposure's clock reads: [task start, answer ready, submitted] per answered task. */
    clock: number[];
    answers: { queryId: string; answerMs: number; totalMs: number; bytes: number; via: string }[];
  }
  const lenders: Lender[] = [];
  for (const [l, slug] of lenderSlugs.entries()) {
    const memberId = ids.get(slug)!;
    const client = createExposureClient({ hubUrl: net.hubUrl, signer: signerOf(slug).signer });
    const maskSecret = maskKeyPair().secretKey;
    await client.registerMaskKey(maskKeyPair(maskSecret).publicKey);
    const book = bookOf(l, held[l]!);
    const node = {
      memberId,
      network: querier.network,
      tags: async (subjects: readonly string[]) => new Map(subjects.map((s) => [s, tagOf.get(s)!])),
    };
    const reg = await registerExposureBook(node, client, book);
    if (reg.registered !== book.subjects.length) throw new Error(`${slug}: registered ${reg.registered}`);
    reg.lender.figuresAsOf(TODAY); // a lender computes its figures once a day, not per query
    lenders.push({ slug, client, book: reg.lender, maskSecret, clock: [], answers: [] });
  }
  const heldPerLender = lenders.map((x) => x.book.tags.size);
  const setupS = (performance.now() - setup0) / 1000;

  // The lenders' daemons.
  for (const lender of lenders) {
    const log = (line: ExposureServeLog) => {
      if (line.event === "task.answered") {
        const [start, ready, done] = lender.clock.slice(-3) as [number, number, number];
        lender.answers.push({
          queryId: String(line["queryId"]),
          answerMs: ready - start,
          totalMs: done - start,
          bytes: Number(line["bytes"]),
          via: String(line["via"]),
        });
      } else if (line.event !== "serve.start" && line.event !== "serve.stop") {
        console.error(`${lender.slug}: ${JSON.stringify(line)}`);
      }
    };
    serving.push(
      serveExposure(lender.book, {
        client: lender.client,
        maskSecret: lender.maskSecret,
        signal: stop.signal,
        he,
        pollWaitMs: 20_000,
        log,
        now: () => {
          const t = Date.now();
          lender.clock.push(performance.now());
          if (lender.clock.length > 64) lender.clock.splice(0, 32);
          return t;
        },
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 500)); // polls open

  const keyStore = memoryHeKeyStore();
  const queryClient = createExposureClient({ hubUrl: net.hubUrl, signer: signerOf(querierSlug).signer });
  const who = { memberId: querier.memberId, epoch };

  // Oracle: the plaintext sums over the lenders holding each subject.
  const oracle = (s: number): Record<ExposureFeature, number> => {
    const sum = Object.fromEntries(EXPOSURE_FEATURES.map((f) => [f, 0])) as Record<ExposureFeature, number>;
    for (const lender of lenders) {
      const f = lender.book.figuresAsOf(TODAY).get(subjectId(s));
      if (f) for (const k of EXPOSURE_FEATURES) sum[k] += f[k];
    }
    return sum;
  };

  // Warm-up: one small query (JIT, WASM, connections); its subjects are not used again.
  {
    const warm = await requestExposure(queryClient, who, tagText.slice(SUBJECTS - 3), {
      purpose: "credit_assessment",
      mode: "subjects",
      keyStore,
      caseId: "warm-up",
      he,
    });
    if (warm.tags.some((t) => t.status !== "ok")) throw new Error("warm-up query not answered");
    for (const l of lenders) l.answers.length = 0;
  }

  const before = await measureBaseline(ctx);
  const beforeBusy = await withOtherCoreBusy(() => measureBaseline(ctx));

  // ------------------------------------------------------------------------------- (a) portfolio
  const portfolioTags = tagText.slice(0, SUBJECTS - 3);
  const ciphertexts = Math.ceil((FEATURES * portfolioTags.length) / ctx.slotCount);
  const hubPid = net.hub.child.pid!;
  let answerAt = 0;
  let decodeMs = 0;
  let responseParse = { at: 0, cpu: 0, bytes: 0 };
  const timedQuery: Pick<ExposureClient, "query"> = {
    query: async (input, signal) => {
      const out = await queryClient.query(input, signal);
      responseParse = {
        at: performance.now(),
        cpu: threadCpuMs(),
        bytes: out.ciphertexts.reduce((n, c) => n + c.length, 0),
      };
      return out;
    },
  };
  const hub0 = procCpu(hubPid);
  const me0 = selfCpu();
  const m0 = machineCpu();
  const p0 = performance.now();
  const portfolio = await requestExposure(timedQuery, who, portfolioTags, {
    purpose: "credit_assessment",
    mode: "subjects",
    keyStore,
    caseId: "portfolio",
    he,
  });
  answerAt = performance.now();
  const decodeCpuMs = threadCpuMs() - responseParse.cpu;
  const portfolioS = (answerAt - p0) / 1000;
  const hubCpu = procCpu(hubPid) - hub0;
  const benchCpu = selfCpu() - me0;
  const othersCpu = Math.max(0, machineCpu() - m0 - hubCpu - benchCpu);
  decodeMs = answerAt - responseParse.at;

  const ok = portfolio.tags.filter((t) => t.status === "ok");
  if (ok.length !== portfolioTags.length || portfolio.responded !== LENDERS || portfolio.rounds !== 1)
    throw new Error(
      `portfolio: ${ok.length} ok, ${portfolio.responded} responded, ${portfolio.rounds} rounds`,
    );
  let mismatches = 0;
  portfolio.tags.forEach((t, s) => {
    const want = oracle(s);
    for (const f of EXPOSURE_FEATURES) if (t.features![f] !== want[f]) mismatches++;
  });
  if (mismatches > 0) throw new Error(`portfolio: ${mismatches} figures differ from the plaintext oracle`);
  const found = lenders.map((l) => l.answers.find((a) => a.queryId === portfolio.queryId));
  if (found.some((a) => !a || (a.bytes > 1 << 20 && a.via !== "binary")))
    throw new Error("portfolio: a lender did not answer, or not on the binary route");
  const pAnswers = found as Lender["answers"];
  const lenderAnswerS = pAnswers.map((a) => a.answerMs / 1000);
  const lenderMB = Math.max(...pAnswers.map((a) => a.bytes)) / 1e6;

  // ------------------------------------------------------------------------- (b) single applicant
  const latencies: number[] = [];
  const queryOnly: number[] = [];
  const singleIds: string[] = [];
  let lastQueryAt = 0;
  const timedSingle: Pick<ExposureClient, "query"> = {
    query: async (input, signal) => {
      const t = performance.now();
      const out = await queryClient.query(input, signal);
      lastQueryAt = performance.now() - t;
      return out;
    },
  };
  const singleCpu0 = { hub: procCpu(hubPid), me: selfCpu() };
  // The window's bounds on the monotonic clock V8's CPU profiles use (µs): cut RELINK_CPU_PROF_DIR profiles.
  const singleWindow = [process.hrtime.bigint() / 1000n, 0n];
  const singleLoad = [loadavg()[0]!, 0];
  for (let i = 0; i < SINGLES; i++) {
    const s = Math.floor((i * (SUBJECTS - 3)) / SINGLES) + 1; // spread over the portfolio, all distinct
    const t0 = performance.now();
    const r = await queryExposure(querier, [subjectId(s)], {
      client: timedSingle,
      purpose: "credit_assessment",
      mode: "subjects",
      keyStore,
      caseId: `applicant-${i}`,
      he,
    });
    latencies.push(performance.now() - t0);
    queryOnly.push(lastQueryAt);
    singleIds.push(r.queryId);
    const got = r.subjects[0]!;
    const want = oracle(s);
    if (r.cached || got.status !== "ok" || EXPOSURE_FEATURES.some((f) => got.features![f] !== want[f]))
      throw new Error(
        `single ${i}: ${got.status}${r.cached ? " (cached)" : ""} or figures differ from the oracle`,
      );
  }
  const singleCpu = { hub: procCpu(hubPid) - singleCpu0.hub, me: selfCpu() - singleCpu0.me };
  singleWindow[1] = process.hrtime.bigint() / 1000n;
  singleLoad[1] = loadavg()[0]!;
  if (process.env.RELINK_CPU_PROF_DIR)
    console.log(`single-applicant window (µs, monotonic): ${singleWindow.join(" ")}`);
  // A repeated identical query: the hub's cache (no round, no budget); shown for contrast.
  const c0 = performance.now();
  const again = await queryExposure(querier, [subjectId(1)], {
    client: queryClient,
    purpose: "credit_assessment",
    mode: "subjects",
    keyStore,
    caseId: "applicant-0-again",
    he,
  });
  const cachedMs = performance.now() - c0;
  if (!again.cached) throw new Error("the repeated query was not served from the cache");

  const after = await measureBaseline(ctx);
  const afterBusy = await withOtherCoreBusy(() => measureBaseline(ctx));
  const idle = meanBaseline(before, after);
  // Floors from the baseline with both cores busy, as they are during the run; the idle one is shown too.
  const base = meanBaseline(beforeBusy, afterBusy);

  // ---------------------------------------------------------------------------------- figures
  const hubOutput = net.hub.output();
  const hubHe = hubQueryLog(hubOutput, portfolio.queryId);
  const hubHeS = (hubHe.absorbMs + hubHe.finishMs) / 1000;
  const participants = LENDERS;
  const lenderFloorS = (ciphertexts * base.encrypt_ms) / 1000;
  // Masks: a ChaCha20 stream of the round's slots (4 bytes each, before the few rejections) per other lender.
  const maskFloorS =
    ((participants - 1) * ciphertexts * ctx.slotCount * 4 * base.keystream_ns_per_byte) / 1e9;
  const lenderFloorMaskS = lenderFloorS + maskFloorS;
  const lenderFloorIdleS = (ciphertexts * idle.encrypt_ms) / 1000;
  const received = LENDERS * ciphertexts;
  const additions = (LENDERS - 1) * ciphertexts; // the first submission becomes the accumulator
  const hubFloorS = (additions * base.add_us) / 1e6 + (ciphertexts * base.rerandomize_ms) / 1000;
  const hubFloorValS = hubFloorS + (received * base.validate_ms) / 1000;
  const hubFloorValIdleS =
    (additions * idle.add_us) / 1e6 +
    (ciphertexts * idle.rerandomize_ms) / 1000 +
    (received * idle.validate_ms) / 1000;
  const querierFloorS = (ciphertexts * base.decrypt_ms) / 1000;
  // The same in CPU time: the hub's thread CPU (its log) and the querier's, against CPU-timed floors.
  const hubHeCpuS = (hubHe.absorbCpuMs + hubHe.finishCpuMs) / 1000;
  const hubFloorValCpuS =
    (additions * base.cpu_add_us) / 1e6 +
    (ciphertexts * base.cpu_rerandomize_ms) / 1000 +
    (received * base.cpu_validate_ms) / 1000;
  const querierFloorCpuS = (ciphertexts * base.cpu_decrypt_ms) / 1000;
  const lenderMedS = quantile(lenderAnswerS, 0.5);
  const lenderMaxS = Math.max(...lenderAnswerS);
  const lenderCpuEachS = (benchCpu - decodeMs / 1000) / LENDERS;
  const p50 = quantile(latencies, 0.5);
  const p90 = quantile(latencies, 0.9);
  const singleHub = singleIds.map((id) => hubQueryLog(hubOutput, id));
  const singleHubHeMs = quantile(
    singleHub.map((h) => h.absorbMs + h.finishMs),
    0.5,
  );
  const singleLenderMs = quantile(
    lenders.flatMap((l) => l.answers.filter((a) => singleIds.includes(a.queryId)).map((a) => a.answerMs)),
    0.5,
  );
  const singleHubFloorMs = ((LENDERS - 1) * base.add_us) / 1000 + base.rerandomize_ms;
  const singlePhase = (k: "admitMs" | "roundsMs" | "auditMs") =>
    quantile(
      singleHub.map((h) => h[k]),
      0.5,
    ).toFixed(1);
  const r2 = (x: number) => x.toFixed(2);

  const rows: [string, string, string][] = [
    ["baselines (other core busy / idle)", "", ""],
    [
      "  raw encode + encrypt, ms / ciphertext",
      `${base.encrypt_ms.toFixed(3)} / ${idle.encrypt_ms.toFixed(3)}`,
      "",
    ],
    [
      "  (busy before / after)",
      `${beforeBusy.encrypt_ms.toFixed(3)} / ${afterBusy.encrypt_ms.toFixed(3)}`,
      "",
    ],
    ["  raw add in place, µs", `${base.add_us.toFixed(2)} / ${idle.add_us.toFixed(2)}`, ""],
    ["  raw re-randomise, ms", `${base.rerandomize_ms.toFixed(3)} / ${idle.rerandomize_ms.toFixed(3)}`, ""],
    ["  raw decrypt + decode, ms", `${base.decrypt_ms.toFixed(3)} / ${idle.decrypt_ms.toFixed(3)}`, ""],
    [
      "  facade load + validate ciphertext, ms",
      `${base.validate_ms.toFixed(3)} / ${idle.validate_ms.toFixed(3)}`,
      "",
    ],
    [
      "  ChaCha20 keystream (node:crypto), ns / byte",
      `${base.keystream_ns_per_byte.toFixed(3)} / ${idle.keystream_ns_per_byte.toFixed(3)}`,
      "",
    ],
    [`portfolio: ${portfolioTags.length} subjects × ${LENDERS} lenders, s (end to end)`, r2(portfolioS), ""],
    [`  ciphertexts per lender`, String(ciphertexts), ""],
    [
      `  lender answer (median), s vs floor ${lenderFloorS.toFixed(3)} s`,
      lenderMedS.toFixed(3),
      r2(lenderMedS / lenderFloorS),
    ],
    [`    vs floor with masks ${lenderFloorMaskS.toFixed(3)} s`, "", r2(lenderMedS / lenderFloorMaskS)],
    [`    vs floor on an idle core ${lenderFloorIdleS.toFixed(3)} s`, "", r2(lenderMedS / lenderFloorIdleS)],
    [`  lender answer (slowest), s`, lenderMaxS.toFixed(3), r2(lenderMaxS / lenderFloorS)],
    [
      `  lender CPU incl. task parse + upload (mean), s`,
      lenderCpuEachS.toFixed(3),
      r2(lenderCpuEachS / lenderFloorS),
    ],
    [`  uploaded per lender, MB (binary route)`, r2(lenderMB), ""],
    [
      `  hub HE work (validate + add, re-rand. + save), s vs floor ${hubFloorS.toFixed(3)} s`,
      hubHeS.toFixed(3),
      r2(hubHeS / hubFloorS),
    ],
    [`    vs floor with validation ${hubFloorValS.toFixed(3)} s`, "", r2(hubHeS / hubFloorValS)],
    [
      `    vs floor with validation on an idle core ${hubFloorValIdleS.toFixed(3)} s`,
      "",
      r2(hubHeS / hubFloorValIdleS),
    ],
    [
      `    of which validate + add / re-randomise + save, s`,
      `${(hubHe.absorbMs / 1000).toFixed(3)} / ${(hubHe.finishMs / 1000).toFixed(3)}`,
      "",
    ],
    [
      `    in thread CPU time, s vs CPU floor with validation ${hubFloorValCpuS.toFixed(3)} s`,
      hubHeCpuS.toFixed(3),
      r2(hubHeCpuS / hubFloorValCpuS),
    ],
    [`  hub CPU for the whole query (incl. database, HTTP, auth), s`, r2(hubCpu), r2(hubCpu / hubFloorValS)],
    [
      `  querier decrypt + decode, s vs floor ${querierFloorS.toFixed(3)} s`,
      (decodeMs / 1000).toFixed(3),
      r2(decodeMs / 1000 / querierFloorS),
    ],
    [
      `    in thread CPU time, s vs CPU floor ${querierFloorCpuS.toFixed(3)} s`,
      (decodeCpuMs / 1000).toFixed(3),
      r2(decodeCpuMs / 1000 / querierFloorCpuS),
    ],
    [`  answer size (base64 ciphertexts), MB`, r2(responseParse.bytes / 1e6), ""],
    [
      `  CPU s: bench (lenders + querier) / hub / others`,
      `${benchCpu.toFixed(1)} / ${hubCpu.toFixed(1)} / ${othersCpu.toFixed(1)}`,
      "",
    ],
    [`single applicant, ${SINGLES} runs (distinct applicants), p50 ms`, p50.toFixed(1), ""],
    [
      `  p90 / p95 / min / max ms`,
      `${p90.toFixed(1)} / ${quantile(latencies, 0.95).toFixed(1)} / ${Math.min(...latencies).toFixed(1)} / ${Math.max(...latencies).toFixed(1)}`,
      "",
    ],
    [`  exposure.query call only, p50 ms`, quantile(queryOnly, 0.5).toFixed(1), ""],
    [
      `  querier outside the call (tag, key pair, decrypt), p50 ms`,
      quantile(
        latencies.map((l, i) => l - queryOnly[i]!),
        0.5,
      ).toFixed(1),
      "",
    ],
    [
      `  load average (1 min) at start / end of the singles`,
      singleLoad.map((x) => x.toFixed(2)).join(" / "),
      "",
    ],
    [
      `  at the hub (median): admission / rounds / audit leaf + receipt, ms`,
      `${singlePhase("admitMs")} / ${singlePhase("roundsMs")} / ${singlePhase("auditMs")}`,
      "",
    ],
    [
      `  lender answer (median), ms vs floor ${base.encrypt_ms.toFixed(2)} ms`,
      singleLenderMs.toFixed(2),
      r2(singleLenderMs / base.encrypt_ms),
    ],
    [
      `  hub HE work (median), ms vs floor ${singleHubFloorMs.toFixed(2)} ms`,
      singleHubHeMs.toFixed(2),
      r2(singleHubHeMs / singleHubFloorMs),
    ],
    [
      `  CPU per query ms: bench (20 lenders + querier) / hub`,
      `${((1000 * singleCpu.me) / SINGLES).toFixed(1)} / ${((1000 * singleCpu.hub) / SINGLES).toFixed(1)}`,
      "",
    ],
    [`  repeated identical query (cache hit), ms`, cachedMs.toFixed(1), ""],
  ];
  console.log(
    `backend=${backend} cores=${cores} preset=${PRESET} subjects=${SUBJECTS} lenders=${LENDERS} ` +
      `held/lender≈${Math.round(heldPerLender.reduce((a, b) => a + b, 0) / LENDERS)} setup=${setupS.toFixed(0)}s (tags ${tagsS.toFixed(0)}s)`,
  );
  for (const [a, b, c] of rows) console.log(`${a.padEnd(72)} ${b.padStart(18)} ${c.padStart(6)}`);
  const n3 = (x: number) => +x.toFixed(3);
  console.log(
    `BENCH exposure ${JSON.stringify({
      backend,
      cores,
      preset: PRESET,
      subjects: portfolioTags.length,
      lenders: LENDERS,
      ciphertexts_per_lender: ciphertexts,
      baseline_encrypt_ms: +base.encrypt_ms.toFixed(4),
      baseline_add_us: n3(base.add_us),
      baseline_rerandomize_ms: +base.rerandomize_ms.toFixed(4),
      baseline_decrypt_ms: +base.decrypt_ms.toFixed(4),
      baseline_validate_ms: +base.validate_ms.toFixed(4),
      baseline_keystream_ns_per_byte: +base.keystream_ns_per_byte.toFixed(4),
      baseline_idle: Object.fromEntries(Object.entries(idle).map(([k, v]) => [k, +v.toFixed(4)])),
      portfolio_lender_ratio_idle: n3(lenderMedS / lenderFloorIdleS),
      portfolio_hub_ratio_validation_idle: n3(hubHeS / hubFloorValIdleS),
      portfolio_s: +portfolioS.toFixed(2),
      portfolio_lender_s: n3(lenderMedS),
      portfolio_lender_floor_s: n3(lenderFloorS),
      portfolio_lender_ratio: n3(lenderMedS / lenderFloorS),
      portfolio_lender_floor_masks_s: n3(lenderFloorMaskS),
      portfolio_lender_ratio_masks: n3(lenderMedS / lenderFloorMaskS),
      portfolio_lender_max_s: n3(lenderMaxS),
      portfolio_lender_cpu_s: n3(lenderCpuEachS),
      portfolio_lender_mb: +lenderMB.toFixed(2),
      portfolio_hub_s: n3(hubHeS),
      portfolio_hub_floor_s: n3(hubFloorS),
      portfolio_hub_ratio: n3(hubHeS / hubFloorS),
      portfolio_hub_floor_validation_s: n3(hubFloorValS),
      portfolio_hub_ratio_validation: n3(hubHeS / hubFloorValS),
      portfolio_hub_absorb_s: n3(hubHe.absorbMs / 1000),
      portfolio_hub_finish_s: n3(hubHe.finishMs / 1000),
      portfolio_hub_cpu_s: +hubCpu.toFixed(2),
      portfolio_querier_s: n3(decodeMs / 1000),
      portfolio_querier_floor_s: n3(querierFloorS),
      portfolio_querier_ratio: n3(decodeMs / 1000 / querierFloorS),
      portfolio_querier_cpu_s: n3(decodeCpuMs / 1000),
      portfolio_querier_cpu_ratio: n3(decodeCpuMs / 1000 / querierFloorCpuS),
      portfolio_hub_he_cpu_s: n3(hubHeCpuS),
      portfolio_hub_he_cpu_ratio_validation: n3(hubHeCpuS / hubFloorValCpuS),
      portfolio_answer_mb: +(responseParse.bytes / 1e6).toFixed(2),
      portfolio_cpu_s: {
        bench: +benchCpu.toFixed(1),
        hub: +hubCpu.toFixed(1),
        others: +othersCpu.toFixed(1),
      },
      single_runs: SINGLES,
      single_p50_ms: +p50.toFixed(1),
      single_p90_ms: +p90.toFixed(1),
      single_query_p50_ms: +quantile(queryOnly, 0.5).toFixed(1),
      single_querier_side_p50_ms: +quantile(
        latencies.map((l, i) => l - queryOnly[i]!),
        0.5,
      ).toFixed(1),
      single_p95_ms: +quantile(latencies, 0.95).toFixed(1),
      single_load_avg: singleLoad.map((x) => +x.toFixed(2)),
      single_hub_phases_ms: {
        admit: +singlePhase("admitMs"),
        rounds: +singlePhase("roundsMs"),
        audit: +singlePhase("auditMs"),
      },
      single_lender_ms: n3(singleLenderMs),
      single_lender_ratio: n3(singleLenderMs / base.encrypt_ms),
      single_hub_he_ms: n3(singleHubHeMs),
      single_hub_ratio: n3(singleHubHeMs / singleHubFloorMs),
      single_cpu_ms: {
        bench: +((1000 * singleCpu.me) / SINGLES).toFixed(1),
        hub: +((1000 * singleCpu.hub) / SINGLES).toFixed(1),
      },
      single_cached_ms: +cachedMs.toFixed(1),
      setup_s: +setupS.toFixed(1),
      tags_s: +tagsS.toFixed(1),
    })}`,
  );
} catch (error) {
  console.error(`hub output (tail):\n${net.hub.output().slice(-3000)}`);
  throw error;
} finally {
  stop.abort();
  await Promise.allSettled(serving);
  await pool.close();
  await net.stop();
  await serverDb?.drop();
  rmSync(dir, { recursive: true, force: true });
}
