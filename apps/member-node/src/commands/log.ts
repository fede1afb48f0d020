/**
 * `relink log verify`: a member's monitor of the hub's audit log. Fetches the latest checkpoint, checks the
 * log's signature (and witness cosignatures if configured), proves it consistent with the checkpoint saved
 * in the state file, and saves the new one. A contradiction — two roots for one size, or a proof that does
 * not connect — is a fork: both signed notes go into the state file as evidence, and the exit code is 2.
 */
import { existsSync, readFileSync } from "node:fs";
import { relinkFetch } from "@relink/protocol/http";
import {
  base64Decode,
  bytesEqual,
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
import { collect, nonNegativeInt, writeFileAtomic } from "./options.ts";

export interface LogMonitorState {
  /** The latest verified checkpoint (signed note, with the cosignatures it had). */
  checkpoint?: string;
  evidence: {
    kind: "same_size_conflict" | "inconsistent" | "rollback";
    savedNote: string;
    servedNote: string;
    proof: string[];
    detectedAt: string;
  }[];
}

async function fetchText(url: string): Promise<string> {
  const res = await relinkFetch(url, { signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

function readState(file: string): LogMonitorState {
  if (!existsSync(file)) return { evidence: [] };
  return JSON.parse(readFileSync(file, "utf8")) as LogMonitorState;
}

export function register(program: Command): void {
  const log = program.command("log").description("the hub's audit transparency log");
  log
    .command("verify")
    .description("verify the hub's latest checkpoint and its consistency with the saved one; detect forks")
    .requiredOption("--hub <url>", "hub base URL")
    .requiredOption("--log-key <vkey>", "the log's verifier key (name+id+key)")
    .requiredOption("--state <file>", "where the last verified checkpoint and any fork evidence are kept")
    .option("--witness <vkey>", "a trusted witness cosignature key (repeatable)", collect, [])
    .option("--k <n>", "cosignatures required from distinct trusted witnesses", nonNegativeInt)
    .option("--json", "print the result as JSON")
    .option("--quiet", "print nothing when the log is consistent")
    .action(
      async (opts: {
        hub: string;
        logKey: string;
        state: string;
        witness: string[];
        k?: number;
        json?: boolean;
        quiet?: boolean;
      }) => {
        talkingTo(opts.hub);
        process.exitCode = await verifyLog(opts);
      },
    );
}

/** Returns the process exit code: 0 verified, 1 failure (nothing saved), 2 fork detected (evidence saved). */
export async function verifyLog(opts: {
  hub: string;
  logKey: string;
  state: string;
  witness: string[];
  k?: number;
  json?: boolean;
  quiet?: boolean;
}): Promise<number> {
  const hub = opts.hub.replace(/\/$/, "");
  const logKey: VerifierKey = parseVerifierKey(opts.logKey);
  const witnesses = opts.witness.map(parseVerifierKey);
  const k = opts.k ?? witnesses.length;
  const state = readState(opts.state);

  const servedNote = await fetchText(`${hub}/log/checkpoint`);
  let served: SignedCheckpoint;
  try {
    served = openCheckpoint(servedNote, logKey);
  } catch (error) {
    console.error(`checkpoint REJECTED: ${(error as Error).message}`);
    return 1;
  }
  const cosigned = verifyCosignatures(parseNote(servedNote), witnesses, k);
  if (!cosigned.ok) {
    console.error(`checkpoint REJECTED: ${cosigned.reason}`);
    return 1;
  }
  const fork = async (
    kind: LogMonitorState["evidence"][number]["kind"],
    proof: string[],
  ): Promise<number> => {
    state.evidence.push({
      kind,
      savedNote: state.checkpoint!,
      servedNote,
      proof,
      detectedAt: new Date().toISOString(),
    });
    writeFileAtomic(opts.state, `${JSON.stringify(state, null, 2)}\n`);
    console.error(`FORK DETECTED (${kind}): both signed checkpoints kept in ${opts.state}`);
    return EXIT.fork;
  };

  const now = served.checkpoint;
  if (state.checkpoint) {
    const saved = openCheckpoint(state.checkpoint, logKey).checkpoint;
    if (now.size === saved.size) {
      if (!bytesEqual(now.root, saved.root)) return fork("same_size_conflict", []);
    } else {
      const [small, large] = now.size < saved.size ? [now, saved] : [saved, now];
      let proofB64: string[] = [];
      let ok = small.size === 0n;
      if (!ok) {
        const res = await relinkFetch(`${hub}/log/proof/consistency?from=${small.size}&to=${large.size}`, {
          signal: AbortSignal.timeout(15_000),
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
  const was = state.checkpoint ? openCheckpoint(state.checkpoint, logKey).checkpoint.size : undefined;
  state.checkpoint = servedNote;
  writeFileAtomic(opts.state, `${JSON.stringify(state, null, 2)}\n`);
  if (opts.json)
    console.log(
      JSON.stringify({
        ok: true,
        origin: now.origin,
        size: String(now.size),
        consistentWith: was === undefined ? null : String(was),
        cosignatures: cosigned.cosignatures.length,
      }),
    );
  else if (!opts.quiet)
    console.log(
      `log OK: ${now.origin} size ${now.size}${was === undefined ? " (first checkpoint)" : ` (consistent with ${was})`}, ` +
        `${cosigned.cosignatures.length} witness cosignature(s)`,
    );
  return 0;
}
