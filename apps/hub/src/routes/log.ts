/**
 * Read API of the audit transparency log, in the spirit of C2SP tlog-tiles and CT's get-* endpoints. Every
 * answer is public by design: leaves hold commitments and counts only (docs/protocol/audit-log.md).
 *
 *   GET /log/checkpoint                         latest checkpoint with cosignatures (signed note, text/plain)
 *   GET /log/proof/inclusion?index=N&size=S     {"index","size","proof":[base64…]}
 *   GET /log/proof/consistency?from=A&to=B      {"from","to","proof":[base64…]}
 *   GET /log/leaf/:index                        {"index","leaf":base64,"leafHash":base64}
 *   GET /log/receipt/:index                     receipt JSON (relink-audit-receipt/v1)
 */
import {
  type AuditLogDeps,
  AuditLogError,
  buildReceipt,
  getLeaf,
  latestCheckpoint,
  proveConsistency,
  proveInclusion,
} from "@relink/core";
import { base64Encode, parseDecimal } from "@relink/tlog";
import { HttpError, type Route, sendJson, sendText } from "../http.ts";

function decimal(value: string | null | undefined, name: string): bigint {
  const n = value === null || value === undefined ? undefined : parseDecimal(value);
  if (n === undefined)
    throw new HttpError(400, "BAD_INPUT", `${name} must be a decimal integer without leading zeros`);
  return n;
}

async function mapErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (error) {
    if (error instanceof AuditLogError) {
      // No such leaf (or no checkpoint covering it yet) is 404; an index or size beyond the log is 400.
      // "inconsistent" is a fault of the hub's own storage: it stays a 500 (logged).
      if (error.code === "not_found") throw new HttpError(404, "NOT_FOUND", error.message);
      if (error.code !== "inconsistent") throw new HttpError(400, "BAD_INPUT", error.message);
    }
    throw error;
  }
}

export function logRoutes(deps: AuditLogDeps): Route[] {
  return [
    {
      method: "GET",
      path: "/log/checkpoint",
      handle: async ({ res }) => {
        const note = await latestCheckpoint(deps);
        if (!note) throw new HttpError(404, "NOT_FOUND", "no checkpoint published yet");
        sendText(res, 200, note);
      },
    },
    {
      method: "GET",
      path: "/log/proof/inclusion",
      handle: async ({ res, url }) => {
        const index = decimal(url.searchParams.get("index"), "index");
        const size = decimal(url.searchParams.get("size"), "size");
        const proof = await mapErrors(() => proveInclusion(deps, index, size));
        sendJson(res, 200, { index, size, proof: proof.map(base64Encode) });
      },
    },
    {
      method: "GET",
      path: "/log/proof/consistency",
      handle: async ({ res, url }) => {
        const from = decimal(url.searchParams.get("from"), "from");
        const to = decimal(url.searchParams.get("to"), "to");
        const proof = await mapErrors(() => proveConsistency(deps, from, to));
        sendJson(res, 200, { from, to, proof: proof.map(base64Encode) });
      },
    },
    {
      method: "GET",
      path: "/log/leaf/:index",
      handle: async ({ res, params }) => {
        const leaf = await mapErrors(() => getLeaf(deps, decimal(params["index"], "index")));
        sendJson(res, 200, {
          index: leaf.index,
          leaf: base64Encode(leaf.leaf),
          leafHash: base64Encode(leaf.leafHash),
        });
      },
    },
    {
      method: "GET",
      path: "/log/receipt/:index",
      handle: async ({ res, params }) => {
        const receipt = await mapErrors(() => buildReceipt(deps, decimal(params["index"], "index")));
        sendJson(res, 200, receipt);
      },
    },
  ];
}
