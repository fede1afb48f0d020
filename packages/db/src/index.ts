export * from "./client.ts";
export * from "./errors.ts";
export * from "./repositories/member-keys.ts";
export * from "./repositories/members.ts";
export * from "./repositories/users.ts";
export type * from "./schema.ts";
