export * from "./access.ts";
export * from "./consent-replay.ts";
export * from "./export-slice.ts";
export * from "./keys.ts";
export * from "./subject-report.ts";
