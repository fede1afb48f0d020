/**
 * The lenders' task stream (ADR 0035): `POST /v1/exposure/tasks`, signed like every member request, JSON
 * body `{ waitMs }`. After authentication and the lender check it answers 200 `application/x-ndjson` at once
 * and writes one `{ tasks }` line per batch of tasks as the coordinator assigns them, until waitMs has
 * passed, the lender disconnects (which removes its waiter, so later tasks stay pending) or the hub closes.
 *
 * The binary submit route for large exposure rounds (docs/protocol/exposure-he.md §6):
 * `POST /v1/exposure/submit/:queryId/:round`, body = the round's ciphertext envelopes, each prefixed by
 * its length (u32 big-endian), content type application/octet-stream. Authenticated exactly like a tRPC
 * call (core's authenticateMemberRequest over the raw body), bounded in size, and handled by the same core
 * function as `exposure.submit`. A portfolio round (≈ 220 ciphertexts × 65.7 KB) is ≈ 14.5 MB here
 * instead of ≈ 19 MB as base64 JSON.
 */
import {
  authenticateMemberRequest,
  type CoreDeps,
  streamExposureTasks,
  submitExposureRound,
} from "@relink/core";
import {
  EXPOSURE_LIMITS,
  EXPOSURE_SUBMIT_PATH,
  EXPOSURE_TASKS_CONTENT_TYPE,
  EXPOSURE_TASKS_PATH,
  exposurePollInput,
  HTTP_STATUS,
  RelinkError,
  unpackCiphertexts,
} from "@relink/protocol";
import { HttpError, type Route, readBody, requestToVerify, sendJson } from "@relink/protocol/http";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Largest accepted body for `ciphertextBytes`-sized envelopes: a full round plus the length prefixes. */
export function exposureSubmitLimit(ciphertextBytes: number): number {
  return EXPOSURE_LIMITS.ciphertextsPerSubmit * (ciphertextBytes + 4);
}

export function exposureRoutes(deps: { core: CoreDeps; maxBodyBytes: number }): Route[] {
  const { core } = deps;
  return [
    {
      method: "POST",
      path: EXPOSURE_TASKS_PATH,
      handle: async ({ req, res, url }) => {
        const body = await readBody(req, 1024);
        try {
          const who = await authenticateMemberRequest(core, requestToVerify(req, url, body, "POST"));
          let json: unknown;
          try {
            json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
          } catch {
            throw new RelinkError("BAD_INPUT", "body: expected JSON { waitMs }");
          }
          const input = exposurePollInput.safeParse(json);
          if (!input.success) {
            throw new RelinkError("BAD_INPUT", `body: ${input.error.issues[0]?.message ?? "invalid"}`);
          }
          // The lender's disconnection (or the answer's end) aborts its waiting poll.
          const gone = new AbortController();
          res.once("close", () => gone.abort());
          await streamExposureTasks(core, who, input.data, {
            signal: gone.signal,
            open: () => {
              res.writeHead(200, {
                "content-type": `${EXPOSURE_TASKS_CONTENT_TYPE}; charset=utf-8`,
                "cache-control": "no-store",
              });
              res.flushHeaders();
            },
            send: (tasks) => {
              res.write(`${JSON.stringify({ tasks })}\n`);
            },
          });
          res.end();
        } catch (error) {
          if (!(error instanceof RelinkError) || res.headersSent) throw error;
          core.log.info("exposure.tasks_refused", { code: error.code });
          sendJson(res, HTTP_STATUS[error.code], { error: error.toWire() });
        }
      },
    },
    {
      method: "POST",
      path: `${EXPOSURE_SUBMIT_PATH}/:queryId/:round`,
      handle: async ({ req, res, url, params }) => {
        const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
        if (type !== "application/octet-stream") {
          throw new HttpError(415, "BAD_INPUT", "expected content-type application/octet-stream");
        }
        const declared = Number(req.headers["content-length"] ?? Number.NaN);
        if (declared > deps.maxBodyBytes) {
          throw new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${deps.maxBodyBytes} bytes`);
        }
        const body = await readBody(req, deps.maxBodyBytes);
        try {
          const who = await authenticateMemberRequest(core, requestToVerify(req, url, body, "POST"));
          const queryId = params["queryId"] ?? "";
          const round = Number(params["round"]);
          if (!UUID_RE.test(queryId) || !Number.isSafeInteger(round) || round < 1) {
            throw new RelinkError(
              "BAD_INPUT",
              "path: expected /v1/exposure/submit/<queryId uuid>/<round ≥ 1>",
            );
          }
          // A body that is not a well-formed frame sequence counts as a refused submission (the lender is
          // dropped from the round): core refuses an empty list as the wrong number of ciphertexts.
          const ciphertexts = unpackCiphertexts(body, EXPOSURE_LIMITS.ciphertextsPerSubmit) ?? [];
          sendJson(
            res,
            200,
            await submitExposureRound(core, who, { queryId: queryId.toLowerCase(), round, ciphertexts }),
          );
        } catch (error) {
          if (!(error instanceof RelinkError)) throw error;
          core.log.info("exposure.submit_refused", { code: error.code });
          sendJson(res, HTTP_STATUS[error.code], { error: error.toWire() });
        }
      },
    },
  ];
}
