/**
 * Pushes a checkpoint to a witness over HTTP (c2sp.org/tlog-witness `POST <prefix>/add-checkpoint`).
 * The transport is a dependency of publishCheckpoint so tests can call a Witness object directly.
 */
import { relinkFetch } from "@relink/protocol/http";

export interface CosignResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Sends an add-checkpoint request body to a witness submission prefix. */
export type CosignRequester = (submissionUrl: string, body: string) => Promise<CosignResponse>;

export function httpCosignRequester(timeoutMs = 10_000): CosignRequester {
  return async (submissionUrl, body) => {
    const res = await relinkFetch(`${submissionUrl.replace(/\/$/, "")}/add-checkpoint`, {
      method: "POST",
      body,
      headers: { "content-type": "text/plain; charset=utf-8" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await res.text()).slice(0, 64 * 1024);
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: text };
  };
}
