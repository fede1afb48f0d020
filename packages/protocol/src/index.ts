export * from "./bytes.ts";
export * from "./errors.ts";
export * from "./schemas.ts";
export * from "./signing.ts";
export * from "./exposure.ts";
