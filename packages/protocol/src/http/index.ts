/**
 * `@relink/protocol/http`: the HTTP transport every Relink process shares (Node only; not part of the
 * package's main entry, which stays free of I/O for browsers).
 */
export * from "./server.ts";
