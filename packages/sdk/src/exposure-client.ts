/**
 * The hub's exposure procedures for a member node: `createHubClient` (@trpc/client over the AppRouter type,
 * every request signed) for the tRPC procedures, each answer parsed again with the protocol's output schema
 * (a hub answering something else is BAD_RESPONSE), and errors mapped to ExposureClientError (the hub's
 * typed error, the HTTP status, NETWORK for failures before an answer). Only the binary submit is written by
 * hand: `POST /v1/exposure/submit/:queryId/:round` (body: protocol's packCiphertexts — for each envelope,
 * u32 big-endian length ‖ envelope), answered with `{ accepted }` (or the tRPC-shaped `{ result: { data } }`)
 * or `{ error: { code, message } }`.
 */
import {
  declareExposureBookOutput,
  ERROR_CODES,
  type ErrorCode,
  EXPOSURE_TASKS_CONTENT_TYPE,
  EXPOSURE_TASKS_PATH,
  type ExposureQueryInput,
  type ExposureQueryOutput,
  type ExposureTask,
  exposureBookMessage,
  exposurePollOutput,
  exposureQueryOutput,
  exposureSubjectsOutput,
  exposureSubmitOutput,
  exposureSubmitPath,
  packCiphertexts,
  registerMaskKeyOutput,
  toBase64Url,
  type WireError,
} from "@relink/protocol";
import { TRPCClientError } from "@trpc/client";
import { createHubClient } from "./hub-client.ts";
import { hubAudienceOf, type RequestSigner, signedFetch } from "./signing.ts";

export const EXPOSURE_PROCEDURES = {
  registerMaskKey: "exposure.registerMaskKey",
  declareBook: "exposure.declareBook",
  registerSubjects: "exposure.registerSubjects",
  unregisterSubjects: "exposure.unregisterSubjects",
  query: "exposure.query",
  poll: "exposure.poll",
  submit: "exposure.submit",
} as const;

/** What this module needs of a zod schema (kept structural: the SDK does not depend on zod itself). */
interface Schema<T> {
  safeParse(
    data: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

export interface ExposureSubjectsResult {
  changed: number;
  total: number;
  receipt: unknown;
}

/** Errors of the exposure client; `wire` carries the hub's typed error when it sent one. */
export class ExposureClientError extends Error {
  override readonly name = "ExposureClientError";
  /** A protocol error code, or NETWORK / BAD_RESPONSE for failures on this side of the wire. */
  readonly code: ErrorCode | "NETWORK" | "BAD_RESPONSE";
  readonly status: number | undefined;
  readonly wire: WireError | undefined;
  constructor(
    code: ErrorCode | "NETWORK" | "BAD_RESPONSE",
    message: string,
    status?: number,
    wire?: WireError,
  ) {
    super(message);
    this.code = code;
    this.status = status;
    this.wire = wire;
  }
  /** Worth retrying later: the network, or the hub saying it is unavailable or rate-limiting. */
  get retryable(): boolean {
    return (
      this.code === "NETWORK" ||
      this.code === "UNAVAILABLE" ||
      this.code === "QUOTA_EXCEEDED" ||
      (this.status !== undefined && this.status >= 500)
    );
  }
}

export interface ExposureSubmitResult {
  accepted: boolean;
  via: "trpc" | "binary";
  bytes: number;
}

export interface ExposureClient {
  registerMaskKey(publicKey: Uint8Array): Promise<{ fingerprint: string; receipt: unknown }>;
  /**
   * Declares the size of the lender's book, signed with the member's key (exposureBookMessage); the hub
   * refuses registrations beyond it (docs/protocol/exposure-he.md §Book declaration).
   */
  declareBook(
    ctx: { networkId: string; memberId: string },
    epoch: number,
    declaredSubjects: number,
  ): Promise<{ declaredSubjects: number; registered: number; receipt: unknown }>;
  registerSubjects(epoch: number, tags: readonly string[]): Promise<ExposureSubjectsResult>;
  unregisterSubjects(tags: readonly string[]): Promise<ExposureSubjectsResult>;
  query(input: ExposureQueryInput, signal?: AbortSignal): Promise<ExposureQueryOutput>;
  /** Long poll: waits up to `waitMs` on the hub for tasks. */
  poll(waitMs: number, signal?: AbortSignal): Promise<ExposureTask[]>;
  /**
   * The task stream (ADR 0035): one signed request held open for up to `waitMs`; `onTasks` is called with
   * each batch as the hub assigns it. Resolves when the hub ends the stream; a hub without the route is
   * NOT_FOUND (status 404) before any task.
   */
  tasks(waitMs: number, onTasks: (tasks: ExposureTask[]) => void, signal?: AbortSignal): Promise<void>;
  /** Submits a round's ciphertext envelopes; `binary` picks the binary route. */
  submit(
    queryId: string,
    round: number,
    ciphertexts: readonly Uint8Array[],
    options?: { binary?: boolean; signal?: AbortSignal },
  ): Promise<ExposureSubmitResult>;
}

export interface ExposureClientOptions {
  hubUrl: string;
  signer: RequestSigner;
  fetch?: typeof fetch;
  /** The hub's network id, when known; otherwise read once from its public network.info. */
  networkId?: string;
}

const isErrorCode = (c: unknown): c is ErrorCode =>
  typeof c === "string" && (ERROR_CODES as readonly string[]).includes(c);

function wireOf(body: unknown): WireError | undefined {
  const e = (body as { error?: { data?: { relink?: unknown }; code?: unknown; message?: unknown } })?.error;
  const relink = e?.data?.relink as WireError | undefined;
  if (relink && isErrorCode(relink.code)) return relink;
  // The hub's plain HTTP routes answer { error: { code, message } }.
  if (e && isErrorCode(e.code) && typeof e.message === "string") return { code: e.code, message: e.message };
  return undefined;
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: "BAD_INPUT",
  401: "BAD_SIGNATURE",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  412: "WRONG_EPOCH",
  413: "PAYLOAD_TOO_LARGE",
  429: "QUOTA_EXCEEDED",
  503: "UNAVAILABLE",
};

async function readJson(res: Response): Promise<unknown> {
  const body = await res.text();
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function failure(res: Response, body: unknown, what: string): ExposureClientError {
  const wire = wireOf(body);
  const message =
    wire?.message ??
    (body as { error?: { message?: unknown } })?.error?.message ??
    `${what}: HTTP ${res.status}`;
  const code = wire?.code ?? HTTP_CODES[res.status] ?? "INTERNAL";
  return new ExposureClientError(code, String(message), res.status, wire);
}

function parse<T>(schema: Schema<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ExposureClientError(
      "BAD_RESPONSE",
      `${what}: unexpected response (${issue?.path.map(String).join(".") || "root"}: ${issue?.message})`,
    );
  }
  return r.data;
}

/** A tRPC client error as the exposure client's typed error. */
function fromTrpc(error: unknown, path: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return error;
  if (!(error instanceof TRPCClientError)) return error;
  const data = error.data as { httpStatus?: number; relink?: unknown } | undefined;
  const wire = wireOf({ error: { data } });
  const response = (error.meta as { response?: { status?: number } } | undefined)?.response;
  const status = data?.httpStatus ?? response?.status;
  if (status === undefined) {
    // No answer from the hub: refused connection, reset, DNS.
    return new ExposureClientError("NETWORK", `${path}: ${error.message}`);
  }
  const code = wire?.code ?? HTTP_CODES[status] ?? "INTERNAL";
  return new ExposureClientError(code, wire?.message ?? error.message, status, wire);
}

export function createExposureClient(options: ExposureClientOptions): ExposureClient {
  const base = options.hubUrl.replace(/\/$/, "");
  const audience = hubAudienceOf(base, {
    ...(options.networkId ? { networkId: options.networkId } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const signed = signedFetch(options.signer, {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    audience,
  });
  const hub = createHubClient({
    url: base,
    signer: options.signer,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.networkId ? { networkId: options.networkId } : {}),
  }).exposure;

  async function call<T>(
    name: keyof typeof EXPOSURE_PROCEDURES,
    run: (opts: { signal?: AbortSignal }) => Promise<unknown>,
    output: Schema<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const path = EXPOSURE_PROCEDURES[name];
    let data: unknown;
    try {
      data = await run(signal ? { signal } : {});
    } catch (error) {
      throw fromTrpc(error, path, signal);
    }
    return parse(output, data, path);
  }

  return {
    registerMaskKey: (publicKey) =>
      call(
        "registerMaskKey",
        (o) => hub.registerMaskKey.mutate({ publicKey: toBase64Url(publicKey) }, o),
        registerMaskKeyOutput,
      ),
    declareBook: async (ctx, epoch, declaredSubjects) => {
      const signature = toBase64Url(
        await options.signer.sign(exposureBookMessage(ctx, { epoch, declaredSubjects })),
      );
      return call(
        "declareBook",
        (o) => hub.declareBook.mutate({ epoch, declaredSubjects, signature }, o),
        declareExposureBookOutput,
      );
    },
    registerSubjects: (epoch, tags) =>
      call(
        "registerSubjects",
        (o) => hub.registerSubjects.mutate({ epoch, tags: [...tags] }, o),
        exposureSubjectsOutput,
      ),
    unregisterSubjects: (tags) =>
      call(
        "unregisterSubjects",
        (o) => hub.unregisterSubjects.mutate({ tags: [...tags] }, o),
        exposureSubjectsOutput,
      ),
    query: (input, signal) => call("query", (o) => hub.query.mutate(input, o), exposureQueryOutput, signal),
    poll: async (waitMs, signal) =>
      (await call("poll", (o) => hub.poll.mutate({ waitMs }, o), exposurePollOutput, signal)).tasks,
    async tasks(waitMs, onTasks, signal) {
      let res: Response;
      try {
        res = await signed(`${base}${EXPOSURE_TASKS_PATH}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ waitMs }),
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (signal?.aborted) throw error;
        throw new ExposureClientError("NETWORK", `task stream: ${(error as Error).message}`);
      }
      if (!res.ok) throw failure(res, await readJson(res), "task stream");
      const type = res.headers.get("content-type") ?? "";
      if (!type.startsWith(EXPOSURE_TASKS_CONTENT_TYPE) || !res.body) {
        await res.body?.cancel();
        throw new ExposureClientError("BAD_RESPONSE", `task stream: content type ${type || "(none)"}`);
      }
      // One JSON line per batch; a line may arrive in several chunks.
      const decoder = new TextDecoder("utf-8", { fatal: true });
      let pending = "";
      try {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          pending += decoder.decode(value, { stream: true });
          for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            if (line.trim() === "") continue;
            let json: unknown;
            try {
              json = JSON.parse(line);
            } catch {
              throw new ExposureClientError("BAD_RESPONSE", "task stream: a line is not JSON");
            }
            onTasks(parse(exposurePollOutput, json, "task stream").tasks);
          }
        }
      } catch (error) {
        if (signal?.aborted || error instanceof ExposureClientError) throw error;
        throw new ExposureClientError("NETWORK", `task stream: ${(error as Error).message}`);
      }
      if (pending.trim() !== "") throw new ExposureClientError("BAD_RESPONSE", "task stream: cut mid-line");
    },
    async submit(queryId, round, ciphertexts, o = {}) {
      if (!o.binary) {
        const input = { queryId, round, ciphertexts: ciphertexts.map(toBase64Url) };
        const r = await call("submit", (x) => hub.submit.mutate(input, x), exposureSubmitOutput, o.signal);
        return {
          accepted: r.accepted,
          via: "trpc",
          bytes: input.ciphertexts.reduce((n, c) => n + c.length, 0),
        };
      }
      // packCiphertexts allocates a fresh ArrayBuffer-backed array; fetch's BodyInit type wants it said.
      const body = packCiphertexts(ciphertexts) as Uint8Array<ArrayBuffer>;
      const url = `${base}${exposureSubmitPath(encodeURIComponent(queryId), round)}`;
      let res: Response;
      try {
        res = await signed(url, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body,
          ...(o.signal ? { signal: o.signal } : {}),
        });
      } catch (error) {
        if (o.signal?.aborted) throw error;
        throw new ExposureClientError("NETWORK", `binary submit: ${(error as Error).message}`);
      }
      const json = await readJson(res);
      if (!res.ok) throw failure(res, json, "binary submit");
      const data = (json as { result?: { data?: unknown } } | undefined)?.result?.data ?? json;
      const r = parse(exposureSubmitOutput, data, "binary submit");
      return { accepted: r.accepted, via: "binary", bytes: body.length };
    },
  };
}
