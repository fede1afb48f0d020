/**
 * Worker of the OPRF pool: loads its group once — libsodium WASM, noble, or the module the pool was given
 * (`groupModule`, e.g. the native backend, whose `loadGroup()` the worker imports) — and runs chunks of the
 * threshold protocol phases.
 */
import { parentPort, workerData } from "node:worker_threads";
import { combinedPhases } from "./combined.ts";
import { PsiError } from "./errors.ts";
import { type Group, IDENTITY, nobleGroup, validateMany } from "./group.ts";
import { pack, type Task, type TaskResult, unpack, type WorkerError } from "./pool-protocol.ts";
import { finalize } from "./rfc9497.ts";
import { loadSodiumGroup } from "./sodium-group.ts";
import { phases } from "./threshold.ts";

const data = workerData as { backend?: string; groupModule?: string } | undefined;
const group: Group = data?.groupModule
  ? await ((await import(data.groupModule)) as { loadGroup(): Promise<Group> }).loadGroup()
  : data?.backend === "noble"
    ? nobleGroup
    : await loadSodiumGroup();

function run(t: Task): TaskResult {
  switch (t.op) {
    case "blind":
      return { op: "blind", blinded: pack(phases.blind(t.inputs, unpack(t.blinds), group)) };
    case "evaluate": {
      const c = unpack(t.blinded);
      const d = phases.evaluate(t.k, c, group);
      const w = phases.weights(t.publicShare, c, d, t.offset);
      return { op: "evaluate", evaluated: pack(d), partialM: phases.weightedSum(w, c, group) };
    }
    case "verifyCombine": {
      const c = unpack(t.blinded);
      const pks = unpack(t.publicShares);
      const ms: Uint8Array[] = [];
      const zs: Uint8Array[] = [];
      const ds = t.evaluated.map(unpack);
      pks.forEach((pk, i) => {
        const d = ds[i]!;
        validateMany(group, d, "evaluated element");
        const w = phases.weights(pk, c, d, t.offset);
        ms.push(phases.weightedSum(w, c, group));
        zs.push(phases.weightedSum(w, d, group));
      });
      const outputs = phases.unblindCombine(t.inputs, unpack(t.blinds), unpack(t.lambdas), ds, group);
      return { op: "verifyCombine", partialM: pack(ms), partialZ: pack(zs), outputs };
    }
    case "evaluateOnly":
      return { op: "evaluateOnly", evaluated: pack(phases.evaluate(t.k, unpack(t.blinded), group)) };
    case "combinedChunk": {
      const r = combinedPhases.chunk(
        t.inputs,
        unpack(t.blinds),
        unpack(t.blinded),
        unpack(t.lambdas),
        t.evaluated.map(unpack),
        unpack(t.weights),
        group,
      );
      return { op: "combinedChunk", ...r };
    }
    case "holderComposites":
      return {
        op: "holderComposites",
        composites: pack(combinedPhases.holderComposites(t.evaluated.map(unpack), unpack(t.weights), group)),
      };
    case "roundTrip": {
      const blinds = unpack(t.blinds);
      const b = phases.blind(t.inputs, blinds, group);
      const z = phases.evaluate(t.k, b, group);
      const outputs = t.inputs.map((x, j) => finalize(x, blinds[j]!, z[j]!, group));
      return { op: "roundTrip", blinded: pack(b), evaluated: pack(z), outputs };
    }
    case "mulBench": {
      const k = group.scalarReduce(crypto.getRandomValues(new Uint8Array(64)));
      let p = group.mulBase(k);
      const start = performance.now();
      for (let i = 0; i < t.count; i++) p = group.mul(k, p);
      return { op: "mulBench", seconds: (performance.now() - start) / 1000 + (p === IDENTITY ? 1 : 0) };
    }
  }
}

parentPort!.on("message", (msg: { id: number; task: Task }) => {
  try {
    parentPort!.postMessage({ id: msg.id, result: run(msg.task) });
  } catch (e) {
    const err: WorkerError = {
      name: (e as Error).name,
      message: (e as Error).message,
      ...(e instanceof PsiError ? { code: e.code } : {}),
    };
    parentPort!.postMessage({ id: msg.id, error: err });
  }
});
parentPort!.postMessage({ ready: true });
