/**
 * Batch proving on a worker_threads pool (one worker per core by default). Each worker holds the artifacts
 * and proves single-threaded, so N workers keep N cores busy with whole proofs — witness generation is
 * single-threaded in snarkjs, which leaves a multi-threaded prover idle for part of every proof. Results
 * come back in input order; a witness that does not satisfy the circuit rejects with ZkError("PROVE_FAILED").
 * Each worker builds its curve and witness calculator once (ADR 0015). Workers are unref'd while idle; `close()` terminates them.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ZkError, type ZkErrorCode } from "./errors.ts";
import type { Artifacts } from "./proof.ts";

export interface ProofOut {
  proof: Uint8Array;
  publicSignals: string[];
}

export interface ProverPool {
  readonly size: number;
  prove(input: Record<string, unknown>): Promise<ProofOut>;
  proveAll(inputs: readonly Record<string, unknown>[]): Promise<ProofOut[]>;
  close(): Promise<void>;
}

interface Pending {
  resolve(v: ProofOut): void;
  reject(e: Error): void;
}

export function createProverPool(artifacts: Artifacts, size = availableParallelism()): ProverPool {
  if (!Number.isInteger(size) || size < 1)
    throw new ZkError("INVALID_INPUT", "pool size: a positive integer");
  const workers: Worker[] = [];
  const busy = new Map<Worker, number>();
  const pending = new Map<number, Pending>();
  const queue: { id: number; input: Record<string, unknown> }[] = [];
  let nextId = 0;
  let closed = false;

  const dispatch = (): void => {
    for (const w of workers) {
      if (queue.length === 0) break;
      if ((busy.get(w) ?? 0) > 0) continue;
      const job = queue.shift()!;
      busy.set(w, 1);
      w.ref();
      w.postMessage(job);
    }
  };

  for (let i = 0; i < size; i++) {
    const w = new Worker(new URL("./prover-worker.ts", import.meta.url), {
      // snarkjs loads ffjavascript, which loads `web-worker`; inside any worker thread that module assumes
      // it is the entry of one of its own workers and evaluates `workerData.mod`. An empty data: URL
      // keeps it quiet (otherwise it logs a TypeError per worker).
      workerData: { mod: "data:text/javascript,", wasm: artifacts.wasm, zkey: artifacts.zkey },
    });
    w.unref();
    w.on(
      "message",
      (
        m:
          | { id: number; ok: true; out: ProofOut }
          | { id: number; ok: false; code: ZkErrorCode; message: string },
      ) => {
        busy.set(w, 0);
        w.unref();
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (p) {
          if (m.ok) p.resolve(m.out);
          else p.reject(new ZkError(m.code, m.message));
        }
        dispatch();
      },
    );
    w.on("error", (e) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
    workers.push(w);
  }

  const prove = (input: Record<string, unknown>): Promise<ProofOut> => {
    if (closed) return Promise.reject(new ZkError("INVALID_INPUT", "prover pool is closed"));
    const id = nextId++;
    return new Promise<ProofOut>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      queue.push({ id, input });
      dispatch();
    });
  };

  return {
    size,
    prove,
    proveAll: (inputs) => Promise.all(inputs.map(prove)),
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
