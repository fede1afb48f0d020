export * from "./bytes.ts";
export * from "./dpo.ts";
export * from "./ed25519.ts";
export * from "./errors.ts";
export * from "./exposure.ts";
export * from "./schemas.ts";
export * from "./signing.ts";
