/**
 * The hub's exposure procedures as plain, signed tRPC v11 HTTP calls (no transformer), parsed with the
 * protocol schemas — independent of the AppRouter type, so the member side builds before the hub's router
 * has `exposure`. Once it has, this can be swapped for `createHubClient(...).exposure.*` (same wire).
 *
 * Wire: a mutation is `POST /trpc/<path>` with the JSON input as body; a query is
 * `GET /trpc/<path>?input=<URI-encoded JSON>`. Success is `{ result: { data } }`; failure is
 * `{ error: { message, data: { code, httpStatus, relink? } } }`. If the hub declared a procedure with the
 * other kind (HTTP 405), the call is repeated once with the other kind and that kind is kept.
 * Large submissions go to the binary route `POST /v1/exposure/submit/:queryId/:round` (body: protocol's
 * packCiphertexts — for each envelope, u32 big-endian length ‖ envelope), answered with `{ accepted }` (or the
 * tRPC-shaped `{ result: { data } }`) or `{ error: { code, message } }`.
 */
import {
  declareExposureBookOutput,
  ERROR_CODES,
  type ErrorCode,
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

type Kind = "query" | "mutation";

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
  /** Procedure kinds as the hub declares them (default: all mutations — poll hands each task out once). */
  kinds?: Partial<Record<keyof typeof EXPOSURE_PROCEDURES, Kind>>;
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

export function createExposureClient(options: ExposureClientOptions): ExposureClient {
  const base = options.hubUrl.replace(/\/$/, "");
  const signed = signedFetch(options.signer, {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    audience: hubAudienceOf(base, {
      ...(options.networkId ? { networkId: options.networkId } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
  });
  const kinds: Record<keyof typeof EXPOSURE_PROCEDURES, Kind> = {
    registerMaskKey: "mutation",
    declareBook: "mutation",
    registerSubjects: "mutation",
    unregisterSubjects: "mutation",
    query: "mutation",
    poll: "mutation",
    submit: "mutation",
    ...options.kinds,
  };

  async function send(kind: Kind, path: string, input: unknown, signal?: AbortSignal): Promise<Response> {
    const json = JSON.stringify(input);
    try {
      return kind === "query"
        ? await signed(`${base}/trpc/${path}?input=${encodeURIComponent(json)}`, {
            method: "GET",
            ...(signal ? { signal } : {}),
          })
        : await signed(`${base}/trpc/${path}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: json,
            ...(signal ? { signal } : {}),
          });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ExposureClientError("NETWORK", `${path}: ${(error as Error).message}`);
    }
  }

  async function call<T>(
    name: keyof typeof EXPOSURE_PROCEDURES,
    input: unknown,
    output: Schema<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const path = EXPOSURE_PROCEDURES[name];
    let res = await send(kinds[name], path, input, signal);
    if (res.status === 405) {
      await res.body?.cancel();
      const other: Kind = kinds[name] === "query" ? "mutation" : "query";
      const retry = await send(other, path, input, signal);
      if (retry.status !== 405) kinds[name] = other;
      res = retry;
    }
    const body = await readJson(res);
    if (!res.ok) throw failure(res, body, path);
    const data = (body as { result?: { data?: unknown } } | undefined)?.result?.data;
    return parse(output, data, path);
  }

  return {
    registerMaskKey: (publicKey) =>
      call("registerMaskKey", { publicKey: toBase64Url(publicKey) }, registerMaskKeyOutput),
    declareBook: async (ctx, epoch, declaredSubjects) =>
      call(
        "declareBook",
        {
          epoch,
          declaredSubjects,
          signature: toBase64Url(
            await options.signer.sign(exposureBookMessage(ctx, { epoch, declaredSubjects })),
          ),
        },
        declareExposureBookOutput,
      ),
    registerSubjects: (epoch, tags) =>
      call("registerSubjects", { epoch, tags: [...tags] }, exposureSubjectsOutput),
    unregisterSubjects: (tags) => call("unregisterSubjects", { tags: [...tags] }, exposureSubjectsOutput),
    query: (input, signal) => call("query", input, exposureQueryOutput, signal),
    poll: async (waitMs, signal) => (await call("poll", { waitMs }, exposurePollOutput, signal)).tasks,
    async submit(queryId, round, ciphertexts, o = {}) {
      if (!o.binary) {
        const input = { queryId, round, ciphertexts: ciphertexts.map(toBase64Url) };
        const r = await call("submit", input, exposureSubmitOutput, o.signal);
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
