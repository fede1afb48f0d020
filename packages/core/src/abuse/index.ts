export * from "./alerts.ts";
export * from "./consent-policy.ts";
export * from "./lookup-monitor.ts";
export * from "./policy.ts";
export * from "./registry.ts";
