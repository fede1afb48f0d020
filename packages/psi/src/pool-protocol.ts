/** Messages between pool.ts and pool-worker.ts; elements and scalars travel packed 32 bytes apiece. */
export const W = 32;

export function pack(items: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(items.length * W);
  items.forEach((x, i) => {
    if (x.length !== W) throw new RangeError("pack: expected 32-byte items");
    out.set(x, i * W);
  });
  return out;
}

export function unpack(flat: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = new Array(flat.length / W);
  for (let i = 0; i < out.length; i++) out[i] = flat.subarray(i * W, (i + 1) * W);
  return out;
}

export type Task =
  | { op: "blind"; inputs: Uint8Array[]; blinds: Uint8Array }
  /** Holder chunk: Z_j = k·B_j, weights d_j, partial composite Σ d_j B_j. */
  | { op: "evaluate"; k: Uint8Array; publicShare: Uint8Array; blinded: Uint8Array; offset: number }
  /** Client chunk: validate every Z_ij, partial composites M_i, Z_i per holder, and the combined outputs. */
  | {
      op: "verifyCombine";
      publicShares: Uint8Array;
      blinded: Uint8Array;
      evaluated: Uint8Array[];
      lambdas: Uint8Array;
      inputs: Uint8Array[];
      blinds: Uint8Array;
      offset: number;
    }
  /** Holder chunk without proof (ADR 0013 round 1): Z_j = k·B_j. */
  | { op: "evaluateOnly"; k: Uint8Array; blinded: Uint8Array }
  /** Client chunk of the combined check (ADR 0013): partial M, partial C, outputs. */
  | {
      op: "combinedChunk";
      blinded: Uint8Array;
      evaluated: Uint8Array[];
      lambdas: Uint8Array;
      weights: Uint8Array;
      inputs: Uint8Array[];
      blinds: Uint8Array;
    }
  /** Client chunk for naming a cheater: Σ e_j Z_ij per holder. */
  | { op: "holderComposites"; evaluated: Uint8Array[]; weights: Uint8Array }
  | { op: "mulBench"; count: number }
  /** Plain RFC 9497 VOPRF round trip under one key: B_j, Z_j = k·B_j, y_j (byte-identity tests). */
  | { op: "roundTrip"; k: Uint8Array; inputs: Uint8Array[]; blinds: Uint8Array };

export type TaskResult =
  | { op: "blind"; blinded: Uint8Array }
  | { op: "evaluate"; evaluated: Uint8Array; partialM: Uint8Array }
  | { op: "verifyCombine"; partialM: Uint8Array; partialZ: Uint8Array; outputs: Uint8Array[] }
  | { op: "evaluateOnly"; evaluated: Uint8Array }
  | { op: "combinedChunk"; partialM: Uint8Array; partialC: Uint8Array; outputs: Uint8Array[] }
  | { op: "holderComposites"; composites: Uint8Array }
  | { op: "mulBench"; seconds: number }
  | { op: "roundTrip"; blinded: Uint8Array; evaluated: Uint8Array; outputs: Uint8Array[] };

export interface WorkerError {
  name: string;
  code?: string;
  message: string;
}
