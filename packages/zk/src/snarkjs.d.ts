// Minimal types for the parts of snarkjs 0.7.6 this package uses (snarkjs ships none).
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
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: unknown, out: unknown, options?: unknown): Promise<void>;
  };
}
