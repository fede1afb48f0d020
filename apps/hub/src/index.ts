export * from "./health.ts";
export * from "./hub.ts";
