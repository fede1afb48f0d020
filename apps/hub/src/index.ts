export * from "./health.ts";
export * from "./http.ts";
export * from "./hub.ts";
export * from "./logger.ts";
