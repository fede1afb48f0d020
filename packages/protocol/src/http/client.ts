/**
 * The one request layer every client of a hub or key holder uses (sdk, the `relink` CLI and lender daemon,
 * key holders' peer and directory clients, the hub's key-holder and witness clients, the demo): a
 * `fetch`-compatible function on undici with an explicit keep-alive Agent, which retries a request the
 * server never processed. ADR 0005.
 *
 * Why: a peer may close an idle keep-alive connection at the very moment a client reuses it (RFC 9112
 * §9.3.1: "a client … MUST be prepared to retry"). A client whose event loop was blocked (a lender
 * computing tags) cannot see the server's FIN before it writes the next request on the stale socket, and
 * gets `SocketError: other side closed` (UND_ERR_SOCKET) or ECONNRESET. Servers keep idle connections
 * longer (SERVER_KEEP_ALIVE_MS, server.ts) than this Agent does (CLIENT_KEEP_ALIVE_MS), which makes the race
 * rare; the retry below makes it harmless.
 *
 * What is retried, with bounded exponential backoff and full jitter (RETRY_DEFAULTS, configurable):
 *  - a connection that was never established (ECONNREFUSED during a restart, connect timeout): any request;
 *  - a connection closed or reset before any response byte arrived (UND_ERR_SOCKET, ECONNRESET, EPIPE,
 *    UND_ERR_CLOSED): only idempotent methods (RFC 9110 §9.2.2) and requests that carry a signed nonce
 *    (SIGNATURE_HEADERS.nonce). The retry sends the *identical* bytes — same timestamp, nonce and signature,
 *    never re-signed: if the server did process the first attempt after all, the retry is refused as
 *    REPLAYED_REQUEST, so nothing is done twice. Re-signing would turn a lost answer into a double effect.
 *
 * Never retried: anything after a response (status line) was received — whatever the status — a request
 * aborted by its signal or timing out, a body that is a stream (it cannot be sent twice), errors that are
 * not transport errors.
 */
import { Agent, type Dispatcher, fetch as undiciFetch } from "undici";
import { SIGNATURE_HEADERS } from "../signing.ts";

/** How long the client keeps an idle connection: well below SERVER_KEEP_ALIVE_MS (server.ts). */
export const CLIENT_KEEP_ALIVE_MS = 10_000;

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  /** Backoff before retry n (1-based) is uniform in [0, min(maxDelayMs, baseDelayMs · 2^(n−1))]. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Worst case ≈ 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 5 s: long enough to ride out a service restart. */
export const RETRY_DEFAULTS: RetryPolicy = { retries: 6, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Transport error codes meaning the TCP connection was never established: nothing was sent. */
const NEVER_CONNECTED = new Set(["ECONNREFUSED", "UND_ERR_CONNECT_TIMEOUT", "EAI_AGAIN"]);
/** Codes meaning the connection closed or reset before any response byte: the server may not have seen it. */
const CLOSED_BEFORE_RESPONSE = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE", "UND_ERR_CLOSED"]);
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

export interface RetryEvent {
  attempt: number;
  delayMs: number;
  code: string;
  method: string;
  url: string;
}

export interface RequestLayerOptions {
  retry?: Partial<RetryPolicy>;
  /** The dispatcher (connection pool); default: one shared keep-alive Agent per process. */
  dispatcher?: Dispatcher;
  /** Uniform [0, 1) for jitter; default Math.random. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry (e.g. to log it). */
  onRetry?: (event: RetryEvent) => void;
}

/** A connection pool with the layer's keep-alive (idle sockets closed after CLIENT_KEEP_ALIVE_MS). */
export function createAgent(): Agent {
  return new Agent({ keepAliveTimeout: CLIENT_KEEP_ALIVE_MS, keepAliveMaxTimeout: CLIENT_KEEP_ALIVE_MS });
}

let sharedAgent: Agent | undefined;

/** The process-wide keep-alive Agent behind `relinkFetch`. */
export function sharedDispatcher(): Agent {
  sharedAgent ??= createAgent();
  return sharedAgent;
}

/** The transport error code of a failed fetch (undici wraps it as `TypeError('fetch failed', { cause })`). */
export function transportErrorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e && typeof e === "object"; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether a failed attempt may be sent again (see the module header). */
export function isRetryable(error: unknown, method: string, headers: Headers): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  if (name === "AbortError" || name === "TimeoutError") return false;
  const code = transportErrorCode(error);
  if (!code) return false;
  if (NEVER_CONNECTED.has(code)) return true;
  if (!CLOSED_BEFORE_RESPONSE.has(code)) return false;
  return IDEMPOTENT.has(method) || headers.has(SIGNATURE_HEADERS.nonce);
}

/** Reads RELINK_HTTP_RETRIES, RELINK_HTTP_RETRY_BASE_MS and RELINK_HTTP_RETRY_MAX_MS (apps pass their env). */
export function retryPolicyFromEnv(env: Record<string, string | undefined>): Partial<RetryPolicy> {
  const read = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === "") return undefined;
    if (!/^\d+$/.test(v)) throw new Error(`${name}: expected a non-negative integer, got '${v}'`);
    return Number(v);
  };
  const policy: Partial<RetryPolicy> = {};
  const retries = read("RELINK_HTTP_RETRIES");
  const base = read("RELINK_HTTP_RETRY_BASE_MS");
  const max = read("RELINK_HTTP_RETRY_MAX_MS");
  if (retries !== undefined) policy.retries = retries;
  if (base !== undefined) policy.baseDelayMs = base;
  if (max !== undefined) policy.maxDelayMs = max;
  return policy;
}

function replayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === "string" ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer ||
    body instanceof URLSearchParams ||
    (typeof Blob !== "undefined" && body instanceof Blob)
  );
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A `fetch` with the keep-alive Agent and the retry policy above. Input may be a URL or string (a Request
 * is accepted when its body, if any, is not a stream).
 */
export function createRequester(options: RequestLayerOptions = {}): typeof fetch {
  const policy: RetryPolicy = { ...RETRY_DEFAULTS, ...options.retry };
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const dispatcher = options.dispatcher ?? sharedDispatcher();
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : input.toString();
    const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
    const headers = new Headers(init?.headers ?? request?.headers);
    const canRepeat = replayable(init?.body) && !(request?.body && !init?.body);
    for (let attempt = 0; ; attempt++) {
      try {
        const call = request ? request.clone() : url;
        // undici's fetch and the global one share the WHATWG types but not their TypeScript declarations.
        return (await undiciFetch(call as Parameters<typeof undiciFetch>[0], {
          ...(init as Parameters<typeof undiciFetch>[1]),
          dispatcher,
        })) as unknown as Response;
      } catch (error) {
        if (
          attempt >= policy.retries ||
          !canRepeat ||
          init?.signal?.aborted ||
          !isRetryable(error, method, headers)
        )
          throw error;
        const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
        const delayMs = Math.floor(random() * cap);
        options.onRetry?.({
          attempt: attempt + 1,
          delayMs,
          code: transportErrorCode(error) ?? "unknown",
          method,
          url,
        });
        await sleep(delayMs);
      }
    }
  }) as typeof fetch;
}

/** The default request layer: shared Agent, RETRY_DEFAULTS. */
export const relinkFetch: typeof fetch = createRequester();
