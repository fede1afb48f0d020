export * from "./artifacts.ts";
export * from "./bundle.ts";
export * from "./consent.ts";
export * from "./errors.ts";
export * from "./fields.ts";
export {
  createProver,
  type Prover,
  type ProverLogger,
  SCALAR_FIELD_ORDER,
  singleThreadCurve,
  verifyGroth16,
} from "./groth16.ts";
export * from "./pool.ts";
export * from "./proof.ts";
export * from "./tree.ts";
