/**
 * Test support (`@relink/protocol/http/testing`): raw HTTP/1.1 over a TCP socket, for tests that must send
 * what no well-behaved client sends (malformed request lines, bad Content-Length, oversize headers, bodies
 * cut short) and read every byte the server answers. Not for production use.
 */
import { connect } from "node:net";
import type FastCheck from "fast-check";

export interface RawResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  /** Every complete response the server sent, in order. */
  responses: RawResponse[];
  /** Bytes after the last complete response (should be empty). */
  trailing: Buffer;
  /** Whether the exchange ended because the client gave up waiting (see `waitMs`). */
  timedOut: boolean;
}

function indexOfCrlfCrlf(buf: Buffer, from: number): number {
  return buf.indexOf("\r\n\r\n", from, "latin1");
}

/** Decodes a chunked body starting at `at`; returns the body and the offset after it, or undefined. */
function dechunk(buf: Buffer, at: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let i = at;
  for (;;) {
    const eol = buf.indexOf("\r\n", i, "latin1");
    if (eol < 0) return undefined;
    const size = Number.parseInt(buf.subarray(i, eol).toString("latin1").split(";")[0]!, 16);
    if (!Number.isSafeInteger(size) || size < 0) return undefined;
    i = eol + 2;
    if (size === 0) {
      const end = indexOfCrlfCrlf(buf, i - 2);
      return end < 0 ? undefined : { body: Buffer.concat(parts), end: end + 4 };
    }
    if (buf.length < i + size + 2) return undefined;
    parts.push(buf.subarray(i, i + size));
    i += size + 2;
  }
}

/**
 * Splits what a server sent into responses. `headOnly` responses (answers to HEAD) carry no body. A
 * response without Content-Length or chunked framing runs to the end of the connection.
 */
export function parseResponses(
  buf: Buffer,
  headOnly = false,
): { responses: RawResponse[]; trailing: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < buf.length) {
    const headEnd = indexOfCrlfCrlf(buf, at);
    if (headEnd < 0) break;
    const lines = buf.subarray(at, headEnd).toString("latin1").split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const status = Number(m[1]);
    let bodyStart = headEnd + 4;
    let body: Buffer;
    if (headOnly || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = Buffer.alloc(0);
    } else if (headers["transfer-encoding"]?.toLowerCase().includes("chunked")) {
      const d = dechunk(buf, bodyStart);
      if (!d) break;
      body = d.body;
      bodyStart = d.end;
      responses.push({ status, headers, body });
      at = bodyStart;
      continue;
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      if (buf.length < bodyStart + n) break;
      body = buf.subarray(bodyStart, bodyStart + n);
      bodyStart += n;
    } else {
      body = buf.subarray(bodyStart);
      bodyStart = buf.length;
    }
    responses.push({ status, headers, body });
    at = bodyStart;
  }
  return { responses, trailing: buf.subarray(at) };
}

/**
 * Connects to host:port, writes `request` as given, optionally half-closes (`endAfterWrite`: the server
 * sees EOF, e.g. for a body cut short), and collects everything until the server closes the connection or
 * `waitMs` passes (then the socket is destroyed and `timedOut` is set).
 */
export function rawExchange(
  port: number,
  request: string | Uint8Array,
  options: { host?: string; endAfterWrite?: boolean; waitMs?: number; headOnly?: boolean } = {},
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: options.host ?? "127.0.0.1" });
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, options.waitMs ?? 30_000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A reset after (or instead of) an answer is the server closing on garbage; anything else fails.
      if (error.code !== "ECONNRESET" && error.code !== "EPIPE") {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      // An answer to a HEAD has no body — unless the server could not parse the request as a HEAD.
      let parsed = parseResponses(all, options.headOnly);
      if (options.headOnly && parsed.trailing.length > 0) parsed = parseResponses(all, false);
      resolve({ ...parsed, timedOut });
    });
    socket.on("connect", () => {
      socket.write(typeof request === "string" ? Buffer.from(request, "latin1") : request);
      if (options.endAfterWrite) socket.end();
    });
  });
}

// ------------------------------------------------------------------------------------------ fuzzing

/** One generated raw request and how it was framed. */
export interface FuzzRequest {
  bytes: Buffer;
  method: string;
  /** The request's framing may be incomplete or contradictory: the client half-closes after writing. */
  framingGarbage: boolean;
  /** A short, printable description for failure messages (never the whole body). */
  label: string;
}

const PERCENT_GARBAGE = [
  "%",
  "%Z",
  "%ZZ",
  "%E0%A4%A",
  "%C0%AF",
  "%ED%A0%80",
  "%FF%FE",
  "%00",
  "%2F",
  "%25",
  "%uD800",
  "..",
  "../..",
  "%2e%2e",
  "/",
  "//",
  "?",
  "#",
  "&",
  "=",
  "?input=",
  "?batch=1&input=",
  ";",
  "\\",
];

/**
 * Raw HTTP/1.1 requests with hostile paths (percent-encoding garbage, `..`, unicode, control characters,
 * overlong targets), methods, headers (bad or duplicate Content-Length, Transfer-Encoding, oversize
 * headers, malformed signature headers) and bodies. Every request asks for `Connection: close` so the
 * server ends the exchange; requests whose framing is deliberately broken are half-closed by the client.
 */
export function rawRequestArbitrary(
  fc: typeof FastCheck,
  o: { paths: readonly string[]; signatureHeaders: readonly string[] },
) {
  const segment = fc.oneof(
    fc.constantFrom(...PERCENT_GARBAGE),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: "binary", maxLength: 8 }),
    fc.stringMatching(/^[0-9]{1,25}$/),
  );
  const path = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...o.paths), fc.array(segment, { maxLength: 6 })) },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom("*", "", "http://evil.example/", "//x/"),
        fc.array(segment, { maxLength: 3 }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(...o.paths),
        fc.constantFrom(9_000, 20_000, 70_000).map((n) => ["a".repeat(n)]),
      ),
    },
  );
  const method = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD") },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,12}$/) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  );
  const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
  const headerValue = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 20 }));
  const header = fc.oneof(
    fc.tuple(
      fc.constantFrom(...o.signatureHeaders),
      fc.oneof(headerValue, fc.base64String({ maxLength: 90 })),
    ),
    fc.tuple(
      fc.constant("content-type"),
      fc.constantFrom(
        "application/json",
        "application/octet-stream",
        "text/plain",
        "multipart/form-data",
        ";;",
        "\u00ff",
      ),
    ),
    fc.tuple(token, headerValue),
    fc.tuple(
      fc.constant("x-big"),
      fc.constantFrom(4_000, 20_000).map((n) => "b".repeat(n)),
    ),
  );
  const framing = fc.oneof(
    { weight: 5, arbitrary: fc.constant<string[]>([]) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom("abc", "-1", "1e3", "99999999999999999999", " 5", "5, 6", "0x10", "", "3", "100000")
        .map((v) => [`content-length: ${v}`]),
    },
    { weight: 1, arbitrary: fc.constant(["content-length: 1", "content-length: 2"]) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("chunked", "gzip", "chunked, chunked", "identity", "gzip, chunked")
        .map((v) => [`transfer-encoding: ${v}`]),
    },
  );
  const body = fc.oneof(
    fc.constant(new Uint8Array()),
    fc.uint8Array({ maxLength: 600 }),
    fc.json({ maxDepth: 3 }).map((j) => new TextEncoder().encode(j)),
    fc
      .constantFrom("{", "[]", "null", '{"0":{"json":null}}', "\u0000", "5\r\nhello\r\n")
      .map((s) => new TextEncoder().encode(s)),
  );
  return fc
    .record({ method, path, headers: fc.array(header, { maxLength: 4 }), framing, body })
    .map((r): FuzzRequest & { [k: symbol]: () => string } => {
      const target = r.path[0] + r.path[1].join("/");
      const lines = [`${r.method} ${target} HTTP/1.1`, "host: 127.0.0.1"];
      for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
      lines.push(...r.framing);
      const framingGarbage = r.framing.length > 0;
      if (!framingGarbage && r.body.length > 0) lines.push(`content-length: ${r.body.length}`);
      lines.push("connection: close", "", "");
      const head = Buffer.from(lines.join("\r\n"), "utf8");
      const label = `${JSON.stringify(r.method.slice(0, 12))} ${JSON.stringify(target.slice(0, 120))}${target.length > 120 ? `…(${target.length})` : ""} headers=[${r.headers.map(([n, v]) => `${n}(${v.length})`).join(",")}] ${r.framing.join(",")} body=${r.body.length}B`;
      // fast-check prints counterexamples with this, not the (possibly 70 kB) bytes.
      return {
        bytes: Buffer.concat([head, r.body]),
        method: r.method,
        framingGarbage,
        label,
        [fc.toStringMethod]: () => label,
      };
    });
}

/**
 * Checks that a server answered a raw request well: every response is a 2xx or 4xx (503 only with code
 * UNAVAILABLE, when `allowUnavailable`), 2xx bodies are JSON (or `text/plain` where `allowText`), error
 * bodies are JSON naming a code from `codes` (the tRPC shape carries it as `error.data.relink.code` or a tRPC
 * code as `error.data.code`). Throws an Error naming the problem; returns the statuses seen.
 */
export function checkRawAnswer(
  exchange: RawExchange,
  request: FuzzRequest,
  o: { codes: readonly string[]; allowText?: boolean; allowUnavailable?: boolean },
): number[] {
  const fail = (why: string): never => {
    throw new Error(`${why}\nrequest: ${request.label}`);
  };
  if (exchange.timedOut) fail("the server did not finish the exchange");
  if (exchange.responses.length === 0 && !request.framingGarbage) fail("no response");
  if (exchange.trailing.length > 0)
    fail(`unparsable bytes after the responses: ${exchange.trailing.subarray(0, 80).toString("latin1")}`);
  const statuses: number[] = [];
  for (const r of exchange.responses) {
    statuses.push(r.status);
    const isHead = request.method === "HEAD";
    const text = r.body.toString("utf8");
    const type = r.headers["content-type"] ?? "";
    let json: unknown;
    if (text.length > 0 || !isHead) {
      if (type.startsWith("text/plain") && o.allowText && r.status < 300) continue;
      if (!type.startsWith("application/json")) fail(`status ${r.status} with content-type '${type}'`);
      try {
        json = JSON.parse(text);
      } catch {
        fail(`status ${r.status}: body is not JSON: ${text.slice(0, 120)}`);
      }
    }
    const errorCode = (e: unknown): string | undefined => {
      const err = (
        e as { error?: { code?: unknown; data?: { code?: unknown; relink?: { code?: unknown } } } }
      )?.error;
      if (!err) return undefined;
      if (typeof err.code === "string") return err.code;
      const relink = err.data?.relink?.code;
      if (typeof relink === "string") return relink;
      return typeof err.data?.code === "string" ? `trpc:${err.data.code}` : undefined;
    };
    if (r.status >= 500) {
      const code = isHead ? undefined : errorCode(Array.isArray(json) ? json[0] : json);
      if (
        !(
          o.allowUnavailable &&
          r.status === 503 &&
          (isHead || code === "UNAVAILABLE" || code === "trpc:SERVICE_UNAVAILABLE")
        )
      )
        fail(`status ${r.status} (${code}) for client input: ${text.slice(0, 200)}`);
    } else if (r.status >= 400) {
      if (isHead) continue;
      for (const item of Array.isArray(json) ? json : [json]) {
        const code = errorCode(item);
        if (!code) fail(`status ${r.status} without an error code: ${text.slice(0, 200)}`);
        if (!code!.startsWith("trpc:") && !o.codes.includes(code!)) fail(`unknown error code ${code}`);
      }
    } else if (r.status < 200 || r.status >= 300) {
      fail(`unexpected status ${r.status}`);
    }
  }
  return statuses;
}
