"use client";
/** Runs one job in the crypto worker (one worker per page load), reporting progress. */
import type { WorkerMessage, WorkerRequest, WorkerResult } from "./protocol.ts";

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<
  number,
  {
    resolve: (r: WorkerResult) => void;
    reject: (e: Error) => void;
    progress: (s: string, d: number, t: number) => void;
  }
>();

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL("./crypto.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      const p = pending.get(m.id);
      if (!p) return;
      if (m.type === "progress") p.progress(m.stage, m.done, m.total);
      else {
        pending.delete(m.id);
        if (m.type === "result") p.resolve(m.result);
        else p.reject(new Error(m.message));
      }
    };
    // A worker that fails to load or throws outside a job never answers: fail every job in flight with the
    // reason instead of leaving the page waiting, and start a fresh worker for the next job.
    const fail = (reason: string) => {
      for (const p of pending.values()) p.reject(new Error(reason));
      pending.clear();
      worker?.terminate();
      worker = undefined;
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      fail(`crypto worker failed: ${e.message || "could not load"}`);
    };
    worker.onmessageerror = () => fail("crypto worker sent a message that could not be read");
  }
  return worker;
}

type Job = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export function runJob(
  job: Job,
  progress: (stage: string, done: number, total: number) => void = () => {},
): Promise<WorkerResult> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, progress });
    getWorker().postMessage({ ...job, id });
  });
}
