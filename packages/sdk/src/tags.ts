/**
 * Computing tags and label keys for canonical identifiers through the t-of-n key holders.
 * The member node blinds locally, sends blinded elements to every holder at once, accepts the first t
 * responses whose DLEQ proofs verify (so a holder that is down or misbehaves is simply not among them),
 * combines with Lagrange coefficients and derives (tag, labelKey) per identifier (packages/psi).
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
  /** Per-request deadline for one holder. */
  timeoutMs?: number;
  /** Identifiers per evaluation request (default and maximum: MAX_EVALUATION_BATCH). */
  batchSize?: number;
  /** Called after every chunk with the number of identifiers done. */
  onProgress?: (done: number, total: number) => void;
  /** Blinding and combining: psi's single-threaded functions, or a worker pool's for bulk work. */
  blind: (e: EpochId, identifiers: readonly string[]) => ClientBatch;
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
      signal: AbortSignal.timeout(deps.timeoutMs ?? 30_000),
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
 * Combines the first `threshold` responses that arrive. A holder that fails, times out or whose proof does
 * not verify (combineResponses throws InvalidProofError naming it) is dropped and the next response is
 * used; with fewer than t good responses, TOO_FEW_HOLDERS lists every holder's problem. Each proof is
 * verified exactly once, inside combineResponses.
 */
async function combineFirstValid(deps: TagDeps, batch: ClientBatch): Promise<Uint8Array[]> {
  const t = deps.keys.threshold;
  const arrived: HolderResponse[] = [];
  const failures: string[] = [];
  let pending = deps.holders.length;
  let wake: (() => void) | undefined;
  for (const holder of deps.holders) {
    askHolder(deps, holder, batch)
      .then((r) => arrived.push(r))
      .catch((error: unknown) => failures.push((error as Error).message))
      .finally(() => {
        pending--;
        wake?.();
      });
  }
  for (;;) {
    if (arrived.length >= t) {
      const chosen = arrived.slice(0, t);
      try {
        return await deps.combine(deps.keys, batch, chosen);
      } catch (error) {
        if (!(error instanceof InvalidProofError)) throw error;
        failures.push(`key holder ${error.holder}: proof does not verify`);
        arrived.splice(
          arrived.findIndex((r) => r.holder === error.holder),
          1,
        );
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

export async function computeTags(
  deps: TagDeps,
  epoch: EpochId,
  identifiers: readonly string[],
): Promise<TagKeysFor[]> {
  const out: TagKeysFor[] = [];
  const size = Math.min(deps.batchSize ?? MAX_EVALUATION_BATCH, MAX_EVALUATION_BATCH);
  for (let i = 0; i < identifiers.length; i += size) {
    const chunk = identifiers.slice(i, i + size);
    const batch = deps.blind(epoch, chunk);
    const outputs = await combineFirstValid(deps, batch);
    outputs.forEach((o, j) => {
      const { tag, labelKey } = deriveTagKeys(o, epoch);
      out.push({ identifier: chunk[j]!, tag, labelKey });
    });
    deps.onProgress?.(Math.min(i + chunk.length, identifiers.length), identifiers.length);
  }
  return out;
}
