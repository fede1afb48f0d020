/**
 * Exit codes and error reporting shared by every `relink` command (and the key holder's and hub's
 * binaries follow the same convention):
 *   0 done · 1 failed · 2 usage error (bad flags or arguments) · 3 done, but some input rows were rejected
 *   4 `log verify` found a fork (evidence kept)
 * A user error (missing file, existing key file, hub not reachable, refused by the hub) prints one line
 * `relink: …` on stderr and never a stack trace; RELINK_DEBUG=1 adds the stack for bug reports.
 */
import type { WireError } from "@relink/protocol";

/**
 * The hub's typed error behind a tRPC client error (what @relink/sdk's `wireError` reads), checked by
 * shape so that this module — imported by every command — does not load the SDK: `relink receipt verify`
 * must start without it (cli.ts).
 */
export function wireError(error: unknown): WireError | undefined {
  if (error instanceof Error && error.name === "TRPCClientError") {
    return (error as { data?: { relink?: WireError } }).data?.relink;
  }
  return undefined;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, partial: 3, fork: 4 } as const;

/** An error whose message is complete for the user (no stack trace needed). */
export class UserError extends Error {
  override readonly name = "UserError";
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.exitCode = exitCode;
  }
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused (is it running?)",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "timed out",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  UND_ERR_SOCKET: "the other side closed the connection",
  UND_ERR_CONNECT_TIMEOUT: "connect timed out",
};

/** The first network error code in an error's cause chain, if any. */
function networkCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 6 && e && typeof e === "object"; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code in NETWORK_CODES) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The URL this command talks to, named when the connection fails. */
let peer: string | undefined;
export function talkingTo(url: string): void {
  peer = url;
}

/** One line for the user: wire code and message, or the network failure and the URL it concerns. */
export function describeError(error: unknown): string {
  const wire = wireError(error) ?? (error as { wire?: { code: string; message: string } })?.wire;
  const net = networkCode(error);
  if (net) {
    const url = (error as { url?: string }).url ?? peer ?? "the server";
    const reached = ["UND_ERR_SOCKET", "ECONNRESET"].includes(net);
    return `${reached ? `connection to ${url} failed` : `cannot reach ${url}`}: ${NETWORK_CODES[net]} (${net})`;
  }
  const message = wire?.message ?? (error instanceof Error ? error.message : String(error));
  if (/^fetch failed$/.test(message) && peer) return `cannot reach ${peer}: fetch failed`;
  const code = wire?.code ?? (error as { code?: unknown })?.code;
  return `${typeof code === "string" && !code.startsWith("ERR_") ? `${code}: ` : ""}${message}`;
}

export function exitCodeOf(error: unknown): number {
  return error instanceof UserError ? error.exitCode : EXIT.failure;
}
