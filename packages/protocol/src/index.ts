export * from "./abuse.ts";
export * from "./bytes.ts";
export * from "./consent-attestation.ts";
export * from "./errors.ts";
export * from "./exposure.ts";
export * from "./schemas.ts";
export * from "./signing.ts";
