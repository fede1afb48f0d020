/**
 * A witness (c2sp.org/tlog-witness, add-checkpoint) as a pure object: it keeps, per log origin, the latest
 * checkpoint it cosigned, and cosigns a new one only after verifying the log's signature and a consistency
 * proof from that checkpoint. It never rolls back, and when it sees two different signed roots for the same
 * size — or a checkpoint that the log's own proof cannot connect to what it cosigned — it keeps both signed
 * notes as fork evidence. Transport (HTTP) and persistence (a state file) belong to the caller: `state` is
 * plain JSON, and `addCheckpoint` is synchronous, so checking and updating happen atomically.
 */
import { base64Decode, base64Encode, bytesEqual, parseDecimal } from "./bytes.ts";
import { CheckpointError, openCheckpoint } from "./checkpoint.ts";
import { cosign } from "./cosignature.ts";
import { ProofError, verifyConsistency } from "./merkle.ts";
import { NoteError, type SignerKey, type VerifierKey } from "./note.ts";

/**
 * Fork evidence kept per witness. The first conflicting notes are the proof; anyone can POST a validly signed
 * checkpoint with a bad proof again and again, so identical evidence is stored once and the list is capped
 * (later distinct evidence is counted in `evidenceDropped`, not stored).
 */
export const MAX_EVIDENCE = 32;

/** The spec caps a request at 63 proof lines. */
export const MAX_PROOF_LINES = 63;
export const MAX_REQUEST_BYTES = 128 * 1024;

export interface AddCheckpointRequest {
  oldSize: bigint;
  proof: Uint8Array[];
  /** The signed checkpoint note, unverified. */
  checkpoint: string;
}

export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  return `old ${req.oldSize}\n${req.proof.map((h) => `${base64Encode(h)}\n`).join("")}\n${req.checkpoint}`;
}

export class WitnessRequestError extends Error {
  override readonly name = "WitnessRequestError";
}

export function parseAddCheckpointRequest(body: string): AddCheckpointRequest {
  if (body.length > MAX_REQUEST_BYTES) throw new WitnessRequestError("request too large");
  const blank = body.indexOf("\n\n");
  if (blank < 0) throw new WitnessRequestError("request has no blank line");
  const head = body.slice(0, blank).split("\n");
  const checkpoint = body.slice(blank + 2);
  const m = /^old (\S+)$/.exec(head[0] ?? "");
  const oldSize = m ? parseDecimal(m[1]!) : undefined;
  if (oldSize === undefined) throw new WitnessRequestError("first line must be 'old <size>'");
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) throw new WitnessRequestError("too many proof lines");
  const proof = lines.map((l) => {
    const h = base64Decode(l);
    if (h?.length !== 32) throw new WitnessRequestError("proof lines must be base64 of 32 bytes");
    return h;
  });
  return { oldSize, proof, checkpoint };
}

export interface WitnessedLog {
  size: string;
  root: string;
  /** The full signed note the witness last cosigned for this origin. */
  note: string;
}

export interface ForkEvidence {
  origin: string;
  kind: "same_size_conflict" | "inconsistent";
  /** The checkpoint the witness had cosigned and the one that contradicts it, both signed by the log. */
  cosignedNote: string;
  conflictingNote: string;
  /** The consistency proof offered with the conflicting checkpoint (base64), if any. */
  proof: string[];
  detectedAt: string;
}

export interface WitnessState {
  logs: Record<string, WitnessedLog>;
  evidence: ForkEvidence[];
  /** Distinct evidence not stored because `evidence` was full (MAX_EVIDENCE). */
  evidenceDropped?: number;
}

export interface AddCheckpointRefusal {
  status: 400 | 403 | 404 | 409 | 422;
  body: string;
  contentType: "text/plain; charset=utf-8" | "text/x.tlog.size";
  reason: string;
}

export type AddCheckpointResult =
  | { status: 200; body: string; contentType: "text/plain; charset=utf-8" }
  | AddCheckpointRefusal;

export interface WitnessLog {
  origin: string;
  key: VerifierKey;
}

export class Witness {
  readonly key: SignerKey;
  readonly #logs: readonly WitnessLog[];
  readonly #now: () => bigint;
  #state: WitnessState;

  /** `now` returns POSIX seconds; `state` restores what `state` returned earlier. */
  constructor(options: {
    key: SignerKey;
    logs: readonly WitnessLog[];
    now: () => bigint;
    state?: WitnessState;
  }) {
    this.key = options.key;
    this.#logs = options.logs;
    this.#now = options.now;
    this.#state = options.state ? structuredClone(options.state) : { logs: {}, evidence: [] };
  }

  get state(): WitnessState {
    return structuredClone(this.#state);
  }

  addCheckpoint(body: string): AddCheckpointResult {
    const fail = (
      status: 400 | 403 | 404 | 409 | 422,
      reason: string,
      text = `${reason}\n`,
    ): AddCheckpointRefusal => ({
      status,
      body: text,
      contentType: "text/plain; charset=utf-8",
      reason,
    });
    let req: AddCheckpointRequest;
    try {
      req = parseAddCheckpointRequest(body);
    } catch (error) {
      return fail(400, (error as Error).message);
    }
    const originLine = req.checkpoint.slice(0, Math.max(0, req.checkpoint.indexOf("\n")));
    const log = this.#logs.find((l) => l.origin === originLine);
    if (!log) return fail(404, "unknown log origin");
    let opened: ReturnType<typeof openCheckpoint>;
    try {
      opened = openCheckpoint(req.checkpoint, log.key, log.origin);
    } catch (error) {
      if (error instanceof NoteError && error.code !== "malformed") return fail(403, error.message);
      if (error instanceof NoteError || error instanceof CheckpointError) return fail(400, error.message);
      throw error;
    }
    const cp = opened.checkpoint;
    if (req.oldSize > cp.size) return fail(400, "old size exceeds checkpoint size");
    const stored = this.#state.logs[log.origin];
    const storedSize = stored ? BigInt(stored.size) : 0n;
    const storedRoot = stored ? base64Decode(stored.root)! : undefined;

    // Two signed roots for one size contradict each other whatever the old size says: keep both notes.
    if (stored && cp.size === storedSize && storedRoot && !bytesEqual(storedRoot, cp.root)) {
      this.#recordFork("same_size_conflict", log.origin, stored.note, req);
      return fail(409, "conflicting root for the cosigned size (fork)");
    }
    if (req.oldSize !== storedSize) {
      return { ...fail(409, "old size mismatch", `${storedSize}\n`), contentType: "text/x.tlog.size" };
    }
    if (req.oldSize === 0n || req.oldSize === cp.size) {
      if (req.proof.length > 0) return fail(400, "proof must be empty");
    } else {
      let ok = false;
      try {
        ok = verifyConsistency(storedSize, cp.size, req.proof, storedRoot!, cp.root);
      } catch (error) {
        if (!(error instanceof ProofError)) throw error;
      }
      if (!ok) {
        this.#recordFork("inconsistent", log.origin, stored!.note, req);
        return fail(422, "consistency proof does not verify");
      }
    }
    this.#state.logs[log.origin] = {
      size: cp.size.toString(),
      root: base64Encode(cp.root),
      note: req.checkpoint,
    };
    const line = cosign(opened.note.text, this.key, this.#now());
    return { status: 200, body: line, contentType: "text/plain; charset=utf-8" };
  }

  #recordFork(
    kind: ForkEvidence["kind"],
    origin: string,
    cosignedNote: string,
    req: AddCheckpointRequest,
  ): void {
    const proof = req.proof.map(base64Encode);
    const same = this.#state.evidence.some(
      (e) =>
        e.origin === origin &&
        e.kind === kind &&
        e.cosignedNote === cosignedNote &&
        e.conflictingNote === req.checkpoint &&
        e.proof.join("\n") === proof.join("\n"),
    );
    if (same) return;
    if (this.#state.evidence.length >= MAX_EVIDENCE) {
      this.#state.evidenceDropped = (this.#state.evidenceDropped ?? 0) + 1;
      return;
    }
    this.#state.evidence.push({
      origin,
      kind,
      cosignedNote,
      conflictingNote: req.checkpoint,
      proof,
      detectedAt: this.#now().toString(),
    });
  }
}
