/**
 * Computing tags and label keys for canonical identifiers through the t-of-n key holders.
 * The member node blinds locally, sends each chunk's blinded elements to t holders (rotating over the
 * holders from chunk to chunk), and asks the next holder whenever one fails, times out or answers wrongly.
 * By default (`check`, ADR 0013) holders answer without proofs and then each proves one combined element;
 * otherwise each sends an RFC 9497 batch proof. t checked answers are combined with Lagrange coefficients
 * and give (tag, labelKey) per identifier (packages/psi). Several chunks are in flight at once, so blinding
 * and combining overlap the holders' round trips.
 */

import {
  evaluateOutput,
  fromBase64Url,
  MAX_EVALUATION_BATCH,
  RelinkError,
  toBase64Url,
  type WireError,
} from "@relink/protocol";
import {
  blindIdentifiers,
  type ClientBatch,
  type CombinedCheck,
  combineResponses,
  deriveTagKeys,
  type EpochId,
  type EvaluationRequest,
  finishCombinedCheck,
  type HolderEvaluation,
  type HolderResponse,
  InvalidProofError,
  nobleSymmetric,
  type SymmetricCrypto,
  startCombinedCheck,
  type ThresholdPublicKeys,
} from "@relink/psi";
import type { OprfPool } from "@relink/psi/pool";

/** Identifiers per evaluation request and requests in flight, unless the caller says otherwise. */
const DEFAULT_BATCH = 2048;
const DEFAULT_CONCURRENCY = 4;

export interface HolderEndpoint {
  index: number;
  url: string;
}

export interface TagKeysFor {
  identifier: string;
  tag: Uint8Array;
  labelKey: Uint8Array;
}

export interface TagDeps {
  keys: ThresholdPublicKeys;
  holders: HolderEndpoint[];
  /** A fetch that signs requests with the member's key (see signing.ts). */
  fetch: typeof fetch;
  /**
   * Per-request deadline for one holder (default 120 s). It only guards against a hung holder — a dead one
   * fails at once (connection refused or reset) — so it is generous: the clock runs while this process is
   * busy blinding and combining other chunks, and a loaded machine stretches that (issue 9: a 30 s deadline
   * timed out healthy holders and failed "key holder killed mid-batch").
   */
  timeoutMs?: number;
  /** Identifiers per evaluation request (default 2048, at most MAX_EVALUATION_BATCH). */
  batchSize?: number;
  /** Chunks in flight at once (default 4): blinding, holder round trips and combining overlap. */
  concurrency?: number;
  /** Called after every chunk with the number of identifiers done. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Receives each chunk's tags as soon as they are ready (chunks may finish out of order); awaited before
   * that chunk's slot takes the next chunk, so a slow consumer holds the computation back.
   */
  onTags?: (chunk: TagKeysFor[]) => void | Promise<void>;
  /** Blinding and combining: psi's single-threaded functions, or a worker pool's for bulk work. */
  blind: (e: EpochId, identifiers: readonly string[]) => ClientBatch | Promise<ClientBatch>;
  combine: (
    keys: ThresholdPublicKeys,
    batch: ClientBatch,
    responses: readonly HolderResponse[],
  ) => Uint8Array[] | Promise<Uint8Array[]>;
  /**
   * HMAC and AEAD for the tag and label-key derivation (and, in MemberNode, label sealing and record
   * ids): psi's noble backend by default; Node apps pass libsodium WASM (`loadSodiumSymmetric()`, ADR 0043).
   */
  symmetric?: SymmetricCrypto;
  /**
   * The combined check (ADR 0013; used when present): holders evaluate without proofs, then each proves
   * one combined element — 7 instead of 11 multiplications per identifier at t = 2. Without it every
   * holder sends an RFC 9497 batch proof and `combine` verifies them.
   */
  check?: {
    start: (
      keys: ThresholdPublicKeys,
      batch: ClientBatch,
      evaluations: readonly HolderEvaluation[],
    ) => CombinedCheck | Promise<CombinedCheck>;
    finish: (
      keys: ThresholdPublicKeys,
      check: CombinedCheck,
      proofs: readonly HolderResponse[],
    ) => Uint8Array[] | Promise<Uint8Array[]>;
  };
}

/** The default crypto: psi's functions on the noble backend (runs in Node and in browsers). */
/** What MemberNode's `crypto` option carries: blinding and combining, and the symmetric backend. */
export type TagCrypto = Pick<TagDeps, "blind" | "combine" | "check" | "symmetric">;

export const singleThreaded: TagCrypto = {
  blind: (e: EpochId, identifiers: readonly string[]) => blindIdentifiers(e, identifiers),
  combine: (keys: ThresholdPublicKeys, batch: ClientBatch, responses: readonly HolderResponse[]) =>
    combineResponses(keys, batch, responses),
  check: { start: startCombinedCheck, finish: finishCombinedCheck },
};

/**
 * Blinding and combining on psi's libsodium WASM worker pool (`createOprfPool()` from "@relink/psi/pool",
 * Node only): for bulk work, with the libsodium WASM symmetric backend when given (`loadSodiumSymmetric()`
 * from "@relink/psi"). The caller owns the pool and closes it.
 */
export function pooled(
  pool: Pick<
    OprfPool,
    "blindIdentifiers" | "combineResponses" | "startCombinedCheck" | "finishCombinedCheck"
  >,
  symmetric?: SymmetricCrypto,
): TagCrypto {
  return {
    ...(symmetric ? { symmetric } : {}),
    blind: (e, identifiers) => pool.blindIdentifiers(e, identifiers),
    combine: (keys, batch, responses) => pool.combineResponses(keys, batch, responses),
    check: {
      start: (keys, batch, evaluations) => pool.startCombinedCheck(keys, batch, evaluations),
      finish: (keys, check, proofs) => pool.finishCombinedCheck(keys, check, proofs),
    },
  };
}

export class HolderError extends Error {
  override readonly name = "HolderError";
  readonly holder: number;
  readonly wire: WireError | undefined;
  constructor(holder: number, message: string, wire?: WireError) {
    super(`key holder ${holder}: ${message}`);
    this.holder = holder;
    this.wire = wire;
  }
}

async function askHolder(
  deps: TagDeps,
  holder: HolderEndpoint,
  request: EvaluationRequest,
  proof: "batch" | "none" = "batch",
): Promise<HolderResponse | HolderEvaluation> {
  const body = JSON.stringify({
    networkId: request.networkId,
    epoch: request.epoch,
    blindedElements: request.blindedElements.map(toBase64Url),
    ...(proof === "none" ? { proof } : {}),
  });
  const post = () =>
    deps.fetch(`${holder.url.replace(/\/$/, "")}/v1/evaluate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(deps.timeoutMs ?? 120_000),
    });
  let res: Response;
  try {
    try {
      res = await post();
    } catch (error) {
      // A kept-alive connection the holder closed while idle fails at once ("fetch failed"): one retry on
      // a fresh connection. Timeouts are not retried. (The combined check's second request comes after a
      // pause, so it meets this race more often than a single request.)
      if ((error as Error).name === "TimeoutError" || (error as Error).name === "AbortError") throw error;
      res = await post();
    }
  } catch (error) {
    throw new HolderError(holder.index, `unreachable (${(error as Error).message})`);
  }
  const json = (await res.json().catch(() => undefined)) as unknown;
  if (!res.ok) {
    const wire = (json as { error?: WireError } | undefined)?.error;
    throw new HolderError(holder.index, wire?.message ?? `HTTP ${res.status}`, wire);
  }
  const parsed = evaluateOutput.safeParse(json);
  if (!parsed.success) throw new HolderError(holder.index, "malformed response");
  const r = parsed.data;
  if (r.holder !== holder.index) throw new HolderError(holder.index, `answered as holder ${r.holder}`);
  if (proof === "batch" && r.proof === undefined)
    throw new HolderError(holder.index, "no proof in the answer");
  try {
    const evaluation = {
      networkId: r.networkId,
      epoch: r.epoch,
      holder: r.holder,
      evaluatedElements: r.evaluatedElements.map(fromBase64Url),
    };
    return proof === "batch" ? { ...evaluation, proof: fromBase64Url(r.proof!) } : evaluation;
  } catch {
    throw new HolderError(holder.index, "malformed response encoding");
  }
}

/**
 * ADR 0013 for one chunk: the combined element M from t round-1 answers, round 2 (M with a proof) to the
 * same holders in parallel, then the check. Returns the outputs, or the HolderError of a holder that did
 * not answer round 2; throws InvalidProofError naming a holder whose answers are wrong.
 */
async function checkCombined(
  deps: TagDeps,
  check: NonNullable<TagDeps["check"]>,
  batch: ClientBatch,
  chosen: readonly HolderEvaluation[],
  order: readonly HolderEndpoint[],
): Promise<Uint8Array[] | HolderError> {
  const state = await check.start(deps.keys, batch, chosen);
  const answers = await Promise.allSettled(
    state.holders.map((h) => askHolder(deps, order.find((e) => e.index === h)!, state.request, "batch")),
  );
  const missing = answers.find((a) => a.status === "rejected");
  if (missing) {
    const reason = (missing as PromiseRejectedResult).reason;
    if (reason instanceof HolderError) return reason;
    throw reason;
  }
  const proofs = answers.map((a) => (a as PromiseFulfilledResult<HolderResponse>).value);
  return await check.finish(deps.keys, state, proofs);
}

/**
 * Combines t verified responses for one chunk. Holders are asked t at a time, in `order`: one that fails,
 * times out or whose proof does not verify (combineResponses throws InvalidProofError naming it) is
 * replaced by the next holder in the order; it is also reported through `failed`, so later chunks ask it
 * last. With fewer than t good responses, TOO_FEW_HOLDERS lists every holder's problem. Each proof is
 * verified exactly once, inside combineResponses.
 */
async function combineFromHolders(
  deps: TagDeps,
  batch: ClientBatch,
  order: readonly HolderEndpoint[],
  failed: (holder: number) => void,
): Promise<Uint8Array[]> {
  const t = deps.keys.threshold;
  const arrived: HolderResponse[] = [];
  const failures: string[] = [];
  let asked = 0;
  let pending = 0;
  let wake: (() => void) | undefined;
  const askNext = () => {
    const holder = order[asked++];
    if (!holder) return;
    pending++;
    askHolder(deps, holder, batch.request, deps.check ? "none" : "batch")
      .then((r) => arrived.push(r as HolderResponse))
      .catch((error: unknown) => {
        failures.push((error as Error).message);
        failed(holder.index);
        askNext();
      })
      .finally(() => {
        pending--;
        wake?.();
      });
  };
  for (let i = 0; i < t; i++) askNext();
  for (;;) {
    if (arrived.length >= t) {
      const chosen = arrived.slice(0, t);
      try {
        if (deps.check) {
          const result = await checkCombined(deps, deps.check, batch, chosen, order);
          if (Array.isArray(result)) return result;
          // A holder failed round 2 without proving anything wrong: ask another in its place.
          failures.push(result.message);
          failed(result.holder);
          arrived.splice(
            arrived.findIndex((r) => r.holder === result.holder),
            1,
          );
          askNext();
          continue;
        }
        return await deps.combine(deps.keys, batch, chosen as HolderResponse[]);
      } catch (error) {
        if (!(error instanceof InvalidProofError)) throw error;
        failures.push(`key holder ${error.holder}: proof does not verify`);
        failed(error.holder);
        arrived.splice(
          arrived.findIndex((r) => r.holder === error.holder),
          1,
        );
        askNext();
        continue;
      }
    }
    if (pending === 0) {
      throw new RelinkError(
        "TOO_FEW_HOLDERS",
        `${arrived.length} of the ${t} key holders needed answered correctly: ${failures.join("; ")}`,
      );
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
}

/**
 * Tags for identifiers, in their order. Chunks of `batchSize` run `concurrency` at a time; chunk i asks
 * the holders starting at the (s + i)-th (mod n) for a random s, holders that failed earlier in this call
 * last. The first
 * error stops new chunks from starting and is thrown once the chunks in flight have settled.
 */
export async function computeTags(
  deps: TagDeps,
  epoch: EpochId,
  identifiers: readonly string[],
): Promise<TagKeysFor[]> {
  const out: TagKeysFor[] = new Array(identifiers.length);
  const size = Math.min(deps.batchSize ?? DEFAULT_BATCH, MAX_EVALUATION_BATCH);
  const chunks = Math.ceil(identifiers.length / size);
  const holders = deps.holders;
  // A random first holder per call spreads small (one-chunk) calls over all holders, not just the first t.
  const offset = Math.floor(Math.random() * holders.length);
  const bad = new Set<number>();
  const sym = deps.symmetric ?? nobleSymmetric;
  let next = 0;
  let done = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < chunks) {
      const c = next++;
      const from = c * size;
      const chunk = identifiers.slice(from, from + size);
      const rotated = holders.map((_, i) => holders[(offset + c + i) % holders.length]!);
      const order = [...rotated.filter((h) => !bad.has(h.index)), ...rotated.filter((h) => bad.has(h.index))];
      try {
        const batch = await deps.blind(epoch, chunk);
        const outputs = await combineFromHolders(deps, batch, order, (h) => bad.add(h));
        const ready = outputs.map((o, j) => {
          const { tag, labelKey } = deriveTagKeys(o, epoch, sym);
          return { identifier: chunk[j]!, tag, labelKey };
        });
        for (const [j, r] of ready.entries()) out[from + j] = r;
        await deps.onTags?.(ready);
      } catch (error) {
        stopped = true;
        throw error;
      }
      done += chunk.length;
      deps.onProgress?.(done, identifiers.length);
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(chunks, Math.max(1, deps.concurrency ?? DEFAULT_CONCURRENCY)) }, worker),
  );
  const failure = settled.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
  return out;
}
