/**
 * Worker of the prover pool: proves single-threaded with the artifacts it was started with, on one curve
 * and one compiled witness calculator kept for the worker's life (groth16.ts, ADR 0015).
 */
import { parentPort, workerData } from "node:worker_threads";
import { ZkError } from "./errors.ts";
import { createProver } from "./groth16.ts";
import { encodeProof } from "./proof.ts";

const artifacts = workerData as { wasm: Uint8Array; zkey: Uint8Array };
const prover = createProver(artifacts);

parentPort!.on("message", async (job: { id: number; input: Record<string, unknown> }) => {
  try {
    let out: Awaited<ReturnType<Awaited<typeof prover>["prove"]>>;
    try {
      out = await (await prover).prove(job.input);
    } catch (e) {
      throw new ZkError(
        "PROVE_FAILED",
        `witness does not satisfy the circuit: ${(e as Error).message.split("\n")[0]}`,
      );
    }
    parentPort!.postMessage({
      id: job.id,
      ok: true,
      out: { proof: encodeProof(out.proof), publicSignals: out.publicSignals },
    });
  } catch (e) {
    const code = e instanceof ZkError ? e.code : "PROVE_FAILED";
    parentPort!.postMessage({ id: job.id, ok: false, code, message: (e as Error).message });
  }
});
