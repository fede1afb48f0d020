export * from "./bytes.ts";
export * from "./checkpoint.ts";
export * from "./cosignature.ts";
export * from "./leaf.ts";
export * from "./merkle.ts";
export * from "./note.ts";
export * from "./receipt.ts";
export * from "./witness.ts";
