/**
 * `@relink/protocol/http`: the HTTP transport every Relink process shares (Node only; not part of the
 * package's main entry, which stays free of I/O for browsers): the client request layer (client.ts) and
 * the server settings that go with it (server.ts), and the shell servers run their routes in (shell.ts).
 */
export * from "./client.ts";
export * from "./server.ts";
export * from "./shell.ts";
