// Minimal types for circom_tester 0.0.24 (CommonJS, no types shipped).
declare module "circom_tester/common/tester.js" {
  export class BaseTester {
    constructor(dir: string, baseName: string);
    checkConstraints(witness: bigint[]): Promise<void>;
    loadConstraints(): Promise<void>;
  }
}
declare module "circom_tester/wasm/witness_calculator.js" {
  interface WitnessCalculator {
    calculateWitness(input: Record<string, unknown>, sanityCheck: boolean): Promise<bigint[]>;
  }
  const build: (wasm: Uint8Array) => Promise<WitnessCalculator>;
  export default build;
}
