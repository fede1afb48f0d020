export * from "./adapter.ts";
export * from "./audit-log.ts";
export * from "./integrity.ts";
export * from "./witness-client.ts";
