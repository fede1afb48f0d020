export * from "./access.ts";
export { type AppRouter, appRouter } from "./routers.ts";
export { type ApiContext, toTrpcError } from "./trpc.ts";
