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
