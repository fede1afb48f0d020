export * from "./book.ts";
export * from "./coordinator.ts";
export * from "./noise.ts";
export * from "./policy.ts";
export * from "./query.ts";
export * from "./subjects.ts";
