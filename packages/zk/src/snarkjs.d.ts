// Minimal types for the parts of snarkjs 0.7.6, ffjavascript 0.3.1 and circom_runtime 0.1.28 this package
// uses (none ships types).
declare module "snarkjs" {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasm: Uint8Array | string | { type: "mem"; data: Uint8Array },
      zkey: Uint8Array | string | { type: "mem"; data: Uint8Array },
      logger?: unknown,
      wtnsCalcOptions?: unknown,
      proverOptions?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vkey: unknown, publicSignals: string[], proof: Groth16Proof, logger?: unknown): Promise<boolean>;
    prove(
      zkey: { type: "mem"; data: Uint8Array },
      wtns: { type: "mem"; data: Uint8Array },
      logger?: unknown,
      options?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: unknown, out: unknown, options?: unknown): Promise<void>;
  };
}
declare module "ffjavascript" {
  // biome-ignore lint/suspicious/noExplicitAny: untyped library, used through a few calls
  export function buildBn128(singleThread?: boolean): Promise<any>;
  export const utils: {
    unstringifyBigInts(o: unknown): unknown;
    leInt2Buff(n: bigint, len: number): Uint8Array;
    leBuff2int(b: Uint8Array): bigint;
    stringifyBigInts(o: unknown): unknown;
  };
}
declare module "circom_runtime" {
  export function WitnessCalculatorBuilder(
    code: Uint8Array,
    options?: unknown,
  ): Promise<{ calculateWTNSBin(input: unknown, sanityCheck?: number): Promise<Uint8Array> }>;
}
declare module "ffjavascript" {
  export class ChaCha {
    constructor(seed?: number[]);
  }
}
