export type { Member } from "@relink/db";
export * from "./audit/index.ts";
export * from "./auth.ts";
export * from "./consents.ts";
export * from "./context.ts";
export * from "./denials.ts";
export * from "./directory.ts";
export * from "./lookup.ts";
export * from "./members.ts";
