/** Worker of the prover pool: proves single-threaded with the artifacts it was started with. */
import { parentPort, workerData } from "node:worker_threads";
import { ZkError } from "./errors.ts";
import { type Artifacts, prove } from "./proof.ts";

const artifacts = workerData as Artifacts;

parentPort!.on("message", async (job: { id: number; input: Record<string, unknown> }) => {
  try {
    const out = await prove(artifacts, job.input, { singleThread: true });
    parentPort!.postMessage({ id: job.id, ok: true, out });
  } catch (e) {
    const code = e instanceof ZkError ? e.code : "PROVE_FAILED";
    parentPort!.postMessage({ id: job.id, ok: false, code, message: (e as Error).message });
  }
});
