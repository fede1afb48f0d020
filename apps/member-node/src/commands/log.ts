/**
 * `relink log verify` and `relink log audit`: a member's monitor of the hub's audit log (threat T6).
 *
 * verify: fetches the latest checkpoint, checks the log's signature (and k witness cosignatures), proves it
 * consistent with the checkpoint kept in the member home (RFC 9162 §2.1.4), re-hashes every leaf against the
 * signed root (RFC 9162 §2.1.1; with --incremental only the leaves added since the last verified audit,
 * continued from a saved compact range), checks that the hub still serves the exact leaf bytes of every
 * receipt the member keeps, and saves the new state.
 * A contradiction — two roots for one size, or a proof that does not connect — is a fork: both signed notes
 * go into the state file as evidence (deduplicated, at most MAX_EVIDENCE entries), exit code 4 (EXIT.fork).
 *
 * audit: re-hashes every leaf of the log, paged through `GET /log/leaves`, against the signed checkpoint root,
 * and names the first index that does not belong (bisecting with consistency proofs; tlog `firstBadLeaf`).
 */
import { existsSync, readFileSync } from "node:fs";
import { relinkFetch } from "@relink/protocol/http";
import {
  base64Decode,
  bytesEqual,
  type Checkpoint,
  CompactRange,
  decodeAuditEvent,
  firstBadLeaf,
  hashLeaf,
  openCheckpoint,
  ProofError,
  parseNote,
  parseVerifierKey,
  type SignedCheckpoint,
  type VerifierKey,
  verifyConsistency,
  verifyCosignatures,
} from "@relink/tlog";
import type { Command } from "commander";
import { EXIT, talkingTo } from "../errors.ts";
import { checkpointFile, keptReceipts, readHome } from "../home.ts";
import { resolveSettings } from "../settings.ts";
import { collect, nonNegativeInt, writeFileAtomic } from "./options.ts";

/** Fork evidence kept per state file: the first conflicts are proof enough; repeats are not stored again. */
export const MAX_EVIDENCE = 32;
const PAGE = 1000;
const TIMEOUT_MS = 30_000;

export interface LogMonitorState {
  /** The latest verified checkpoint (signed note, with the cosignatures it had). */
  checkpoint?: string;
  /** Compact range of the leaves re-hashed so far (tlog CompactRange JSON). */
  audited?: { size: string; frontier: string[] };
  evidence: {
    kind: "same_size_conflict" | "inconsistent" | "rollback";
    savedNote: string;
    servedNote: string;
    proof: string[];
    detectedAt: string;
  }[];
}

async function fetchText(url: string): Promise<string> {
  const res = await relinkFetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

function readState(file: string): LogMonitorState {
  if (!existsSync(file)) return { evidence: [] };
  return JSON.parse(readFileSync(file, "utf8")) as LogMonitorState;
}

interface Target {
  hub: string;
  logKey: VerifierKey;
  witnesses: VerifierKey[];
  k: number;
  state?: string;
  home?: string;
}

interface TargetOptions {
  home?: string;
  json?: boolean;
  quiet?: boolean;
  hub?: string;
  logKey?: string;
  state?: string;
  witness: string[];
  k?: number;
}

/** Options first, then the member home (hub URL, pinned log key, trusted witnesses, checkpoint.json). */
function target(flags: TargetOptions): Target {
  const opts = { ...flags, home: resolveSettings({ ...(flags.home ? { home: flags.home } : {}) }).home };
  const home =
    existsSync(opts.home) && existsSync(`${opts.home}/member.json`) ? readHome(opts.home) : undefined;
  const hub = opts.hub ?? home?.hubUrl;
  const logKey = opts.logKey ?? home?.logKey;
  if (!hub) throw new Error(`no hub: pass --hub or run 'relink init' in ${opts.home}`);
  if (!logKey) throw new Error(`no log key: pass --log-key or pin one with 'relink init --log-key'`);
  const witnessKeys = opts.witness.length > 0 ? opts.witness : (home?.witnessKeys ?? []);
  const k =
    opts.k ?? (opts.witness.length > 0 ? opts.witness.length : (home?.witnessK ?? witnessKeys.length));
  const state = opts.state ?? (home ? checkpointFile(opts.home) : undefined);
  talkingTo(hub);
  return {
    hub: hub.replace(/\/$/, ""),
    logKey: parseVerifierKey(logKey),
    witnesses: witnessKeys.map(parseVerifierKey),
    k,
    ...(state ? { state } : {}),
    ...(home ? { home: opts.home } : {}),
  };
}

function targetOptions(cmd: Command): Command {
  return cmd
    .option(
      "--home <dir>",
      "member node directory: hub, log key, witnesses, checkpoint.json (env RELINK_HOME)",
    )
    .option("--hub <url>", "hub base URL (default: the member home's)")
    .option("--log-key <vkey>", "the log's verifier key (default: the key pinned in the member home)")
    .option(
      "--witness <vkey>",
      "a trusted witness cosignature key (repeatable; default: the home's)",
      collect,
      [],
    )
    .option("--k <n>", "cosignatures required from distinct trusted witnesses", nonNegativeInt)
    .option("--json", "print the result as JSON")
    .option("--quiet", "print nothing when the log verifies");
}

export function register(program: Command): void {
  const log = program.command("log").description("the hub's audit transparency log");
  targetOptions(
    log
      .command("verify")
      .description(
        "verify the latest checkpoint, its consistency with the kept one, the leaves added since, and the leaves of kept receipts; detect forks",
      ),
  )
    .option("--state <file>", "state file (default: <home>/checkpoint.json)")
    .option(
      "--incremental",
      "re-hash only the leaves added since the last verified audit (large logs; run `log audit` now and then)",
    )
    .action(async (opts: TargetOptions & { incremental?: boolean }) => {
      process.exitCode = await verifyLog(opts);
    });
  targetOptions(
    log
      .command("audit")
      .description(
        "re-hash every leaf of the log against the signed checkpoint root; name the first bad index",
      ),
  )
    .option("--page-size <n>", `leaves per request (1..${PAGE})`, nonNegativeInt, PAGE)
    .action(async (opts: TargetOptions & { pageSize: number }) => {
      process.exitCode = await auditLog(opts);
    });
}

/** Fetches and verifies the latest checkpoint: log signature, then k of the trusted witnesses. */
async function latestCheckpoint(
  t: Target,
): Promise<{ ok: true; note: string; served: SignedCheckpoint; cosignatures: number } | { ok: false }> {
  const note = await fetchText(`${t.hub}/log/checkpoint`);
  let served: SignedCheckpoint;
  try {
    served = openCheckpoint(note, t.logKey);
  } catch (error) {
    console.error(`checkpoint REJECTED: ${(error as Error).message}`);
    return { ok: false };
  }
  const cosigned = verifyCosignatures(parseNote(note), t.witnesses, t.k);
  if (!cosigned.ok) {
    console.error(`checkpoint REJECTED: ${cosigned.reason}`);
    return { ok: false };
  }
  return { ok: true, note, served, cosignatures: cosigned.cosignatures.length };
}

async function consistencyProofOf(hub: string, from: bigint, to: bigint): Promise<Uint8Array[]> {
  const res = await relinkFetch(`${hub}/log/proof/consistency?from=${from}&to=${to}`, {
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`consistency proof ${from}→${to}: ${res.status}`);
  const body = (await res.json()) as { proof?: unknown };
  if (!Array.isArray(body.proof)) throw new Error("malformed consistency proof");
  return body.proof.map((h) => {
    const b = typeof h === "string" ? base64Decode(h) : undefined;
    if (b?.length !== 32) throw new Error("malformed consistency proof hash");
    return b;
  });
}

export type LeafAudit =
  | { ok: true; range: CompactRange }
  | { ok: false; index: bigint; reason: string; range?: undefined };

const b64list = (v: unknown): Uint8Array[] | undefined => {
  if (!Array.isArray(v)) return undefined;
  const out = v.map((h) => (typeof h === "string" ? base64Decode(h) : undefined));
  return out.every((h): h is Uint8Array => h?.length === 32) ? out : undefined;
};

/**
 * Re-hashes leaves [base.size, checkpoint.size) as the hub serves them (paged), recomputing every perfect
 * subtree, and checks the result against the checkpoint's signed root — the only thing trusted. The first
 * leaf that is missing, malformed, or whose recomputed hashes disagree with the hashes the hub stored beside
 * it is named. If the root still differs with no such disagreement (stored hashes rewritten consistently),
 * the first bad index is located with consistency proofs (tlog `firstBadLeaf`).
 */
export async function auditLeaves(
  hub: string,
  base: CompactRange,
  checkpoint: Checkpoint,
  pageSize = PAGE,
): Promise<LeafAudit> {
  const range = base.clone();
  const hashes: Uint8Array[] = [];
  const bad = (index: bigint, reason: string): LeafAudit => ({ ok: false, index, reason });
  while (range.size < checkpoint.size) {
    const next = range.size;
    const left = checkpoint.size - next;
    const count = left < BigInt(pageSize) ? Number(left) : pageSize;
    const res = await relinkFetch(`${hub}/log/leaves?start=${next}&count=${count}`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!res.ok) return bad(next, `the hub did not serve it (${res.status})`);
    const body = (await res.json()) as { leaves?: Record<string, unknown>[] };
    const leaves = Array.isArray(body.leaves) ? body.leaves.slice(0, count) : [];
    if (leaves.length === 0) return bad(next, "missing");
    for (const l of leaves) {
      const at = range.size;
      if (String(l["index"]) !== at.toString())
        return bad(at, `missing (the hub served ${String(l["index"])} in its place)`);
      // Leaf bytes come only to a reader allowed to read them (ADR 0040); otherwise the hub's hash of the
      // bytes it stores now (`servedHash`) stands in for them, and the signed root vouches for it.
      let leafHash: Uint8Array | undefined;
      if (typeof l["leaf"] === "string") {
        const bytes = base64Decode(l["leaf"]);
        if (!bytes) return bad(at, "not base64");
        try {
          decodeAuditEvent(bytes);
        } catch (error) {
          return bad(at, `malformed: ${(error as Error).message}`);
        }
        leafHash = hashLeaf(bytes);
      } else if (typeof l["servedHash"] === "string") leafHash = base64Decode(l["servedHash"]);
      if (leafHash?.length !== 32) return bad(at, "neither its bytes nor their hash were served");
      const stored = typeof l["leafHash"] === "string" ? base64Decode(l["leafHash"]) : undefined;
      if (!stored || !bytesEqual(stored, leafHash))
        return bad(at, `its bytes do not hash to the leaf hash the hub stored`);
      const completed = range.append(leafHash);
      const subtrees = b64list(l["subtreeHashes"]);
      if (
        !subtrees ||
        subtrees.length !== completed.length ||
        completed.some((h, i) => !bytesEqual(h, subtrees[i]!))
      )
        return bad(at, `the subtree hashes it completes differ from the ones the hub stored`);
      hashes.push(leafHash);
    }
  }
  if (bytesEqual(range.root(), checkpoint.root)) return { ok: true, range };
  const first = await firstBadLeaf(base, hashes, checkpoint.size, checkpoint.root, (a, b) =>
    consistencyProofOf(hub, a, b),
  );
  const index = first ?? base.size;
  return bad(
    index,
    `the leaves do not hash to the signed root of checkpoint ${checkpoint.size}, and this is the first ` +
      "leaf the log's consistency proofs cannot vouch for",
  );
}

/** Compares the leaf bytes of every kept receipt with what the hub serves now. */
async function checkKeptReceipts(hub: string, home: string, size: bigint): Promise<string | undefined> {
  const kept = keptReceipts(home).filter((r) => r.index < size);
  for (let i = 0; i < kept.length; i += 8) {
    const answers = await Promise.all(
      kept.slice(i, i + 8).map(async (r) => {
        if (!r.leaf) return `${r.file}: unreadable receipt`;
        const res = await relinkFetch(`${hub}/log/leaves?start=${r.index}&count=1`, {
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (!res.ok)
          return `leaf ${r.index}: the hub does not serve it (${res.status}), but ${r.file} has it`;
        const page = (await res.json()) as { leaves?: { index?: unknown; servedHash?: unknown }[] };
        const first = page.leaves?.[0];
        const served = first && String(first.index) === r.index.toString() ? first.servedHash : undefined;
        const a = typeof served === "string" ? base64Decode(served) : undefined;
        const b = base64Decode(r.leaf);
        if (!a || !b || !bytesEqual(a, hashLeaf(b)))
          return `leaf ${r.index}: the hub serves other bytes than ${r.file}`;
        return undefined;
      }),
    );
    const problem = answers.find((a) => a !== undefined);
    if (problem) return problem;
  }
  return undefined;
}

function saveState(file: string | undefined, state: LogMonitorState): void {
  if (file) writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * Returns the process exit code: 0 verified, 1 failure (nothing saved: a bad checkpoint, a stale view, or
 * leaves that do not match the signed root), 4 (EXIT.fork) fork detected (evidence saved).
 */
export async function verifyLog(opts: TargetOptions & { incremental?: boolean }): Promise<number> {
  const t = target(opts);
  if (!t.state) throw new Error("no state file: pass --state or run 'relink init' in the member home");
  const state = readState(t.state);
  const latest = await latestCheckpoint(t);
  if (!latest.ok) return 1;
  const { note: servedNote, served } = latest;

  const fork = async (
    kind: LogMonitorState["evidence"][number]["kind"],
    proof: string[],
  ): Promise<number> => {
    const seen = state.evidence.some(
      (e) => e.kind === kind && e.savedNote === state.checkpoint && e.servedNote === servedNote,
    );
    if (!seen && state.evidence.length < MAX_EVIDENCE) {
      state.evidence.push({
        kind,
        savedNote: state.checkpoint!,
        servedNote,
        proof,
        detectedAt: new Date().toISOString(),
      });
      saveState(t.state, state);
    }
    console.error(`FORK DETECTED (${kind}): both signed checkpoints kept in ${t.state}`);
    return EXIT.fork;
  };

  const now = served.checkpoint;
  if (state.checkpoint) {
    const saved = openCheckpoint(state.checkpoint, t.logKey).checkpoint;
    if (now.size === saved.size) {
      if (!bytesEqual(now.root, saved.root)) return fork("same_size_conflict", []);
    } else {
      const [small, large] = now.size < saved.size ? [now, saved] : [saved, now];
      let proofB64: string[] = [];
      let ok = small.size === 0n;
      if (!ok) {
        const res = await relinkFetch(`${t.hub}/log/proof/consistency?from=${small.size}&to=${large.size}`, {
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        if (res.ok) {
          proofB64 = ((await res.json()) as { proof: string[] }).proof;
          const proof = proofB64.map((h) => base64Decode(h) ?? new Uint8Array(0));
          try {
            ok = verifyConsistency(small.size, large.size, proof, small.root, large.root);
          } catch (error) {
            if (!(error instanceof ProofError)) throw error;
          }
        } else if (now.size > saved.size) {
          console.error(`consistency proof unavailable: ${res.status}`);
          return 1;
        }
      }
      if (!ok) return fork("inconsistent", proofB64);
      if (now.size < saved.size) {
        // Consistent but older: the hub is showing a stale view. Not a fork; refuse to go back.
        console.error(`checkpoint REJECTED: size ${now.size} is older than the verified ${saved.size}`);
        return 1;
      }
    }
  }

  // Every leaf re-hashed against the signed root; with --incremental, those since the last audit only.
  let base = new CompactRange();
  if (opts.incremental && state.audited) {
    const kept = CompactRange.fromJSON(state.audited);
    if (kept.size <= now.size) base = kept;
  }
  const audit = await auditLeaves(t.hub, base, now);
  if (!audit.ok) {
    console.error(`log TAMPERED: leaf ${audit.index}: ${audit.reason}`);
    return 1;
  }
  let receipts = "";
  let keptCount = 0;
  if (t.home) {
    const problem = await checkKeptReceipts(t.hub, t.home, now.size);
    if (problem) {
      console.error(`log TAMPERED: ${problem}`);
      return 1;
    }
    keptCount = keptReceipts(t.home).length;
    receipts = `; ${keptCount} kept receipt(s) match`;
  }

  const was = state.checkpoint ? openCheckpoint(state.checkpoint, t.logKey).checkpoint.size : undefined;
  state.checkpoint = servedNote;
  state.audited = audit.range.toJSON();
  saveState(t.state, state);
  if (opts.json)
    console.log(
      JSON.stringify({
        ok: true,
        origin: now.origin,
        size: String(now.size),
        consistentWith: was === undefined ? null : String(was),
        cosignatures: latest.cosignatures,
        leavesRehashed: String(now.size - base.size),
        keptReceiptsChecked: keptCount,
      }),
    );
  else if (!opts.quiet)
    console.log(
      `log OK: ${now.origin} size ${now.size}${was === undefined ? " (first checkpoint)" : ` (consistent with ${was})`}, ` +
        `${latest.cosignatures} witness cosignature(s); ${now.size - base.size} leaves re-hashed to its root${receipts}`,
    );
  return EXIT.ok;
}

/** Returns the exit code: 0 every leaf re-hashes to the signed root, 1 otherwise (the first bad index named). */
export async function auditLog(opts: TargetOptions & { pageSize?: number }): Promise<number> {
  const t = target(opts);
  const pageSize = opts.pageSize ?? PAGE;
  if (pageSize < 1 || pageSize > PAGE) throw new Error(`--page-size must be 1..${PAGE}`);
  const latest = await latestCheckpoint(t);
  if (!latest.ok) return 1;
  const cp = latest.served.checkpoint;
  const audit = await auditLeaves(t.hub, new CompactRange(), cp, pageSize);
  if (!audit.ok) {
    console.error(`log audit FAILED: leaf ${audit.index}: ${audit.reason}`);
    return 1;
  }
  console.log(
    `log audit OK: all ${cp.size} leaves re-hash to the signed root of ${cp.origin} size ${cp.size} ` +
      `(${latest.cosignatures} witness cosignature(s))`,
  );
  return 0;
}
