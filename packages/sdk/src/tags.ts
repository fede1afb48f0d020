/**
 * Computing tags and label keys for canonical identifiers through the t-of-n key holders.
 * The member node blinds locally, sends each chunk's blinded elements to t holders (rotating over the
 * holders from chunk to chunk), and asks the next holder whenever one fails, times out or returns a proof
 * that does not verify; it combines t verified responses with Lagrange coefficients and derives
 * (tag, labelKey) per identifier (packages/psi). Several chunks are in flight at once, so blinding and
 * combining overlap the holders' round trips.
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
  combineResponses,
  deriveTagKeys,
  type EpochId,
  type HolderResponse,
  InvalidProofError,
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
}

/** The default crypto: psi's functions on the noble backend (runs in Node and in browsers). */
export const singleThreaded = {
  blind: (e: EpochId, identifiers: readonly string[]) => blindIdentifiers(e, identifiers),
  combine: (keys: ThresholdPublicKeys, batch: ClientBatch, responses: readonly HolderResponse[]) =>
    combineResponses(keys, batch, responses),
};

/**
 * Blinding and combining on psi's libsodium WASM worker pool (`createOprfPool()` from "@relink/psi/pool",
 * Node only): for bulk work. The caller owns the pool and closes it.
 */
export function pooled(
  pool: Pick<OprfPool, "blindIdentifiers" | "combineResponses">,
): Pick<TagDeps, "blind" | "combine"> {
  return {
    blind: (e, identifiers) => pool.blindIdentifiers(e, identifiers),
    combine: (keys, batch, responses) => pool.combineResponses(keys, batch, responses),
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

async function askHolder(deps: TagDeps, holder: HolderEndpoint, batch: ClientBatch): Promise<HolderResponse> {
  const body = JSON.stringify({
    networkId: batch.request.networkId,
    epoch: batch.request.epoch,
    blindedElements: batch.request.blindedElements.map(toBase64Url),
  });
  let res: Response;
  try {
    res = await deps.fetch(`${holder.url.replace(/\/$/, "")}/v1/evaluate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(deps.timeoutMs ?? 120_000),
    });
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
  try {
    return {
      networkId: r.networkId,
      epoch: r.epoch,
      holder: r.holder,
      evaluatedElements: r.evaluatedElements.map(fromBase64Url),
      proof: fromBase64Url(r.proof),
    };
  } catch {
    throw new HolderError(holder.index, "malformed response encoding");
  }
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
    askHolder(deps, holder, batch)
      .then((r) => arrived.push(r))
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
        return await deps.combine(deps.keys, batch, chosen);
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
          const { tag, labelKey } = deriveTagKeys(o, epoch);
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
