/**
 * Bulk fast path (Node only; import "@relink/psi/pool"): the threshold VOPRF of threshold.ts run on
 * libsodium WASM in a worker_threads pool, one worker per core (os.availableParallelism()). Byte-identical
 * to the single-threaded noble path (property-tested over 10,000 random inputs).
 *
 * Batches are cut into chunks; each chunk does all per-element work of a phase in one message:
 *   blind         B_j = r_j · HashToGroup(x_j)                                  (RFC 9497 §3.3.1)
 *   evaluate      Z_j = k_i · B_j, composite weights d_j, partial Σ d_j B_j       (§3.3.2, §2.2.1 Fast)
 *   verifyCombine per holder: d_ij, partial M_i = Σ d_ij B_j, Z_i = Σ d_ij Z_ij;  (§2.2.2)
 *                 and y_j = Finalize over Σ_i (λ_i r_j^-1) Z_ij                   (§3.3.1)
 * The main thread adds the partial composites and runs the constant-size proof steps. Outputs of a
 * batch are released only after every holder's proof verified.
 *
 * Random scalars are drawn on the main thread from the injected RNG (by default WebCrypto, drawn 64 KiB
 * per call for a whole batch: bytes.ts bufferedRng), 64 bytes reduced mod L — never libsodium's RNG. Workers are unref'd while idle, and `close()` terminates them.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { bufferedRng, equalBytes, type Rng, webCryptoRng } from "./bytes.ts";
import {
  assembleCheck,
  type CombinedCheck,
  checkEvaluations,
  drawWeights,
  finishCombinedCheck,
  type HolderEvaluation,
  verifyRound2,
} from "./combined.ts";
import { checkEpochId, checkRequestEpoch, type EpochId, oprfInput } from "./domain.ts";
import {
  IdentityElementError,
  InvalidEncodingError,
  InvalidInputError,
  InvalidProofError,
  InvalidScalarError,
  PoolClosedError,
  PsiError,
  type PsiErrorCode,
} from "./errors.ts";
import { checkScalar, type Group, IDENTITY, randomScalar } from "./group.ts";
import { pack, type Task, type TaskResult, unpack, type WorkerError } from "./pool-protocol.ts";
import { contextString, MAX_BATCH, MODE_VOPRF, proveWithComposite } from "./rfc9497.ts";
import { loadSodiumGroup } from "./sodium-group.ts";
import {
  type ClientBatch,
  checkResponses,
  type EvaluationRequest,
  type HolderKey,
  type HolderResponse,
  lagrangeAtZero,
  type ThresholdPublicKeys,
  verifyProofBytes,
} from "./threshold.ts";

export interface OprfPool {
  /** Number of worker threads. */
  readonly size: number;
  /** The main thread's group backend (the workers load the same one). */
  readonly backend: Group["backend"];
  blindInputs(e: EpochId, inputs: readonly Uint8Array[], rng?: Rng): Promise<ClientBatch>;
  blindIdentifiers(e: EpochId, identifiers: readonly string[], rng?: Rng): Promise<ClientBatch>;
  evaluateAsHolder(key: HolderKey, request: EvaluationRequest, rng?: Rng): Promise<HolderResponse>;
  combineResponses(
    keys: ThresholdPublicKeys,
    batch: ClientBatch,
    responses: readonly HolderResponse[],
  ): Promise<Uint8Array[]>;
  /** ADR 0013 round 1 for a holder: Z_j = k·B_j without a proof (1 multiplication per element). */
  evaluateUnproven(key: HolderKey, request: EvaluationRequest): Promise<HolderEvaluation>;
  /** ADR 0013, client after round 1: weights, the combined element M to send, withheld outputs. */
  startCombinedCheck(
    keys: ThresholdPublicKeys,
    batch: ClientBatch,
    evaluations: readonly HolderEvaluation[],
    rng?: Rng,
  ): Promise<CombinedCheck>;
  /** ADR 0013, client after round 2: verifies, releases the outputs or names the cheating holder. */
  finishCombinedCheck(
    keys: ThresholdPublicKeys,
    check: CombinedCheck,
    proofs: readonly HolderResponse[],
  ): Promise<Uint8Array[]>;
  /**
   * Plain single-key VOPRF round trip (blind with the given blinds, evaluate under k, finalize), for
   * byte-identity tests between backends and for benchmarks. Not a protocol step: k is one whole key.
   */
  roundTrip(
    k: Uint8Array,
    inputs: readonly Uint8Array[],
    blinds: readonly Uint8Array[],
  ): Promise<{ blinded: Uint8Array[]; evaluated: Uint8Array[]; outputs: Uint8Array[] }>;
  /** Raw scalar multiplications per second per worker, measured in parallel on every worker. */
  measureMulRate(countPerWorker: number): Promise<number[]>;
  /** Terminates every worker; later calls reject with {@link PoolClosedError}. */
  close(): Promise<void>;
}

export interface PoolOptions {
  /** Worker threads; defaults to os.availableParallelism(). */
  size?: number;
  /** Group backend in the workers: "sodium" (default, constant-time WASM) or "noble" (reference). */
  backend?: "sodium" | "noble";
  /**
   * Injected group (Node apps choose it at start-up, e.g. the native backend): `group` serves the main
   * thread and `groupModule` — the URL of a module exporting `loadGroup(): Promise<Group>` — is imported by
   * every worker (functions cannot cross threads). Overrides `backend`.
   */
  group?: Group;
  groupModule?: string;
  /** Elements per chunk (default: enough chunks for ~4 per worker, at least 64 elements each). */
  chunk?: number;
}

const CTX = contextString(MODE_VOPRF);
const ERRORS: Record<string, new (m: string) => PsiError> = {
  InvalidEncodingError,
  IdentityElementError,
  InvalidScalarError,
  InvalidInputError,
};

function toError(e: WorkerError): Error {
  const C = ERRORS[e.name];
  if (C) return new C(e.message);
  if (e.code) return new PsiError(e.code as PsiErrorCode, e.message);
  return new Error(e.message);
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export async function createOprfPool(opts: PoolOptions = {}): Promise<OprfPool> {
  const size = opts.size ?? availableParallelism();
  const group: Group = opts.group ?? (await loadSodiumGroup());
  const slots: Slot[] = [];
  const queue: { task: Task; resolve: (r: TaskResult) => void; reject: (e: Error) => void }[] = [];
  const pending = new Map<
    number,
    { resolve: (r: TaskResult) => void; reject: (e: Error) => void; slot: Slot }
  >();
  let nextId = 0;
  let closed = false;

  const pump = () => {
    for (const slot of slots) {
      if (slot.busy || queue.length === 0) continue;
      const job = queue.shift()!;
      const id = nextId++;
      slot.busy = true;
      slot.worker.ref();
      pending.set(id, { resolve: job.resolve, reject: job.reject, slot });
      slot.worker.postMessage({ id, task: job.task });
    }
  };

  await Promise.all(
    Array.from({ length: size }, () => {
      const worker = new Worker(new URL("./pool-worker.ts", import.meta.url), {
        workerData: { backend: opts.backend ?? "sodium", groupModule: opts.groupModule },
      });
      const slot: Slot = { worker, busy: false };
      slots.push(slot);
      return new Promise<void>((ready, fail) => {
        worker.once("error", fail);
        worker.on(
          "message",
          (msg: { ready?: true; id: number; result?: TaskResult; error?: WorkerError }) => {
            if (msg.ready) {
              worker.off("error", fail);
              worker.on("error", (e) => {
                for (const [id, p] of pending) {
                  if (p.slot !== slot) continue;
                  pending.delete(id);
                  p.reject(e);
                }
              });
              worker.unref();
              ready();
              return;
            }
            const p = pending.get(msg.id);
            if (!p) return;
            pending.delete(msg.id);
            slot.busy = false;
            if (queue.length === 0) worker.unref();
            if (msg.error) p.reject(toError(msg.error));
            else p.resolve(msg.result!);
            pump();
          },
        );
      });
    }),
  );

  const submit = <T extends TaskResult>(task: Task): Promise<T> => {
    if (closed) return Promise.reject(new PoolClosedError());
    return new Promise<T>((resolve, reject) => {
      queue.push({ task, resolve: resolve as (r: TaskResult) => void, reject });
      pump();
    });
  };

  const chunks = (n: number): [number, number][] => {
    const per = opts.chunk ?? Math.max(64, Math.ceil(n / (size * 4)));
    const out: [number, number][] = [];
    for (let s = 0; s < n; s += per) out.push([s, Math.min(n, s + per)]);
    return out;
  };

  const checkBatch = (n: number) => {
    if (n < 1 || n > MAX_BATCH)
      throw new InvalidInputError(`batch of ${n}: must hold 1..${MAX_BATCH} elements`);
  };

  const pool: OprfPool = {
    size,
    backend: group.backend,
    async blindInputs(e, inputs, rng = bufferedRng()) {
      checkEpochId(e);
      checkBatch(inputs.length);
      const blinds = inputs.map(() => randomScalar(group, rng));
      const parts = await Promise.all(
        chunks(inputs.length).map(([s, t]) =>
          submit<{ op: "blind"; blinded: Uint8Array }>({
            op: "blind",
            inputs: inputs.slice(s, t),
            blinds: pack(blinds.slice(s, t)),
          }),
        ),
      );
      const blindedElements = parts.flatMap((p) => unpack(p.blinded));
      return {
        request: { networkId: e.networkId, epoch: e.epoch, blindedElements },
        inputs: [...inputs],
        blinds,
      };
    },
    blindIdentifiers(e, identifiers, rng) {
      return pool.blindInputs(
        e,
        identifiers.map((id) => oprfInput(e, id)),
        rng,
      );
    },
    async evaluateAsHolder(key, request, rng = webCryptoRng) {
      checkEpochId(key);
      checkRequestEpoch(key, request);
      checkBatch(request.blindedElements.length);
      const k = checkScalar(key.secretShare, "secret share");
      const c = request.blindedElements;
      const parts = await Promise.all(
        chunks(c.length).map(([s, t]) =>
          submit<{ op: "evaluate"; evaluated: Uint8Array; partialM: Uint8Array }>({
            op: "evaluate",
            k,
            publicShare: key.publicShare,
            blinded: pack(c.slice(s, t)),
            offset: s,
          }),
        ),
      );
      let m = IDENTITY;
      for (const p of parts) m = group.add(m, p.partialM);
      const proof = proveWithComposite(CTX, k, key.publicShare, m, rng, group);
      return {
        networkId: key.networkId,
        epoch: key.epoch,
        holder: key.index,
        evaluatedElements: parts.flatMap((p) => unpack(p.evaluated)),
        proof,
      };
    },
    async combineResponses(keys, batch, responses) {
      const sorted = checkResponses(keys, batch.request, responses, group, false);
      const c = batch.request.blindedElements;
      const lambda = lagrangeAtZero(sorted.map((r) => r.holder));
      const pks = sorted.map((r) => keys.publicShares.get(r.holder)!);
      const parts = await Promise.all(
        chunks(c.length).map(([s, t]) =>
          submit<{ op: "verifyCombine"; partialM: Uint8Array; partialZ: Uint8Array; outputs: Uint8Array[] }>({
            op: "verifyCombine",
            publicShares: pack(pks),
            blinded: pack(c.slice(s, t)),
            evaluated: sorted.map((r) => pack(r.evaluatedElements.slice(s, t))),
            lambdas: pack(sorted.map((r) => lambda.get(r.holder)!)),
            inputs: batch.inputs.slice(s, t),
            blinds: pack(batch.blinds.slice(s, t)),
            offset: s,
          }),
        ),
      );
      sorted.forEach((r, i) => {
        let m = IDENTITY;
        let z = IDENTITY;
        for (const p of parts) {
          m = group.add(m, unpack(p.partialM)[i]!);
          z = group.add(z, unpack(p.partialZ)[i]!);
        }
        if (!verifyProofBytes(pks[i]!, m, z, r.proof, group)) throw new InvalidProofError(r.holder);
      });
      return parts.flatMap((p) => p.outputs);
    },
    async evaluateUnproven(key, request) {
      checkEpochId(key);
      checkRequestEpoch(key, request);
      checkBatch(request.blindedElements.length);
      const k = checkScalar(key.secretShare, "secret share");
      const c = request.blindedElements;
      const parts = await Promise.all(
        chunks(c.length).map(([s, t]) =>
          submit<{ op: "evaluateOnly"; evaluated: Uint8Array }>({
            op: "evaluateOnly",
            k,
            blinded: pack(c.slice(s, t)),
          }),
        ),
      );
      return {
        networkId: key.networkId,
        epoch: key.epoch,
        holder: key.index,
        evaluatedElements: parts.flatMap((p) => unpack(p.evaluated)),
      };
    },
    async startCombinedCheck(keys, batch, evaluations, rng = bufferedRng()) {
      const sorted = checkEvaluations(keys, batch.request, evaluations, group);
      const c = batch.request.blindedElements;
      const lambda = lagrangeAtZero(sorted.map((r) => r.holder));
      const lambdas = sorted.map((r) => lambda.get(r.holder)!);
      const weights = drawWeights(c.length, group, rng);
      const parts = await Promise.all(
        chunks(c.length).map(([s, t]) =>
          submit<{ op: "combinedChunk"; partialM: Uint8Array; partialC: Uint8Array; outputs: Uint8Array[] }>({
            op: "combinedChunk",
            blinded: pack(c.slice(s, t)),
            evaluated: sorted.map((r) => pack(r.evaluatedElements.slice(s, t))),
            lambdas: pack(lambdas),
            weights: pack(weights.slice(s, t)),
            inputs: batch.inputs.slice(s, t),
            blinds: pack(batch.blinds.slice(s, t)),
          }),
        ),
      );
      return assembleCheck(batch, sorted, lambdas, weights, parts, group);
    },
    async finishCombinedCheck(keys, check, proofs) {
      const ys = verifyRound2(keys, check, proofs, group);
      let sum = IDENTITY;
      for (let i = 0; i < ys.length; i++) sum = group.add(sum, group.mul(check.lambdas[i]!, ys[i]!));
      if (equalBytes(sum, check.combined)) return [...check.outputs];
      const n = check.weights.length;
      const parts = await Promise.all(
        chunks(n).map(([s, t]) =>
          submit<{ op: "holderComposites"; composites: Uint8Array }>({
            op: "holderComposites",
            evaluated: check.evaluations.map((z) => pack(z.slice(s, t))),
            weights: pack(check.weights.slice(s, t)),
          }),
        ),
      );
      return finishCombinedCheck(keys, check, proofs, {
        group,
        holderComposites: () =>
          check.holders.map((_, i) => {
            let acc = IDENTITY;
            for (const p of parts) acc = group.add(acc, unpack(p.composites)[i]!);
            return acc;
          }),
      });
    },
    async roundTrip(k, inputs, blinds) {
      checkScalar(k, "key");
      const parts = await Promise.all(
        chunks(inputs.length).map(([s, t]) =>
          submit<{ op: "roundTrip"; blinded: Uint8Array; evaluated: Uint8Array; outputs: Uint8Array[] }>({
            op: "roundTrip",
            k,
            inputs: inputs.slice(s, t),
            blinds: pack(blinds.slice(s, t)),
          }),
        ),
      );
      return {
        blinded: parts.flatMap((p) => unpack(p.blinded)),
        evaluated: parts.flatMap((p) => unpack(p.evaluated)),
        outputs: parts.flatMap((p) => p.outputs),
      };
    },
    async measureMulRate(count) {
      const rs = await Promise.all(
        slots.map(() => submit<{ op: "mulBench"; seconds: number }>({ op: "mulBench", count })),
      );
      return rs.map((r) => count / r.seconds);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const q of queue.splice(0)) q.reject(new PoolClosedError());
      for (const [, p] of pending) p.reject(new PoolClosedError());
      pending.clear();
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
  return pool;
}
