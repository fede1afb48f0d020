/**
 * Read API of the audit transparency log, in the spirit of C2SP tlog-tiles and CT's get-* endpoints.
 * Checkpoints and proofs (hashes only) are public: witnesses and monitors need nothing more. Leaves and
 * receipts name a member, a purpose and a time, so they need a signed request (ADR 0040): the member the
 * leaf is about (its request-signing or DPO key), or a network administrator or DPO; anyone else gets
 * 401 (unsigned, unknown key) or 404 (another member's leaf: indistinguishable from a missing one).
 *
 *   GET /log/checkpoint                         latest checkpoint with cosignatures (signed note, text/plain)
 *   GET /log/proof/inclusion?index=N&size=S     {"index","size","proof":[base64…]}
 *   GET /log/proof/consistency?from=A&to=B      {"from","to","proof":[base64…]}
 *   GET /log/leaf/:index                        {"index","leaf":base64,"leafHash":base64}
 *   GET /log/leaves?start=A&count=N             {"start","leaves":[{"index","leaf"?,"servedHash","leafHash","subtreeHashes"}…]}
 *                                               (N ≤ 1000; `leaf` only for a signed reader allowed to read it;
 *                                               servedHash = hash of the stored bytes now, the others as stored)
 *   GET /log/receipt/:index                     receipt JSON (relink-audit-receipt/v1)
 */
import type { IncomingMessage } from "node:http";
import {
  type AuditLogDeps,
  buildReceipt,
  getLeaf,
  type LedgerReader,
  latestCheckpoint,
  listLeaves,
  mayRead,
  proveConsistency,
  proveInclusion,
  type UnverifiedRequest,
} from "@relink/core";
import { SIGNATURE_HEADERS } from "@relink/protocol";
import { HttpError, type Route, requestToVerify, sendJson, sendText } from "@relink/protocol/http";
import { base64Encode, decodeAuditEvent, hashLeaf, parseDecimal } from "@relink/tlog";

/** Authenticates a reader of leaves and receipts (core's authenticateLedgerReader, composed by the hub). */
export type LedgerReaderAuth = (req: UnverifiedRequest) => Promise<LedgerReader>;

async function reader(
  auth: LedgerReaderAuth | undefined,
  req: IncomingMessage,
  url: URL,
): Promise<LedgerReader> {
  if (!auth) throw new HttpError(401, "UNKNOWN_KEY", "this hub has no ledger readers configured");
  return auth(requestToVerify(req, url, new Uint8Array(), "GET"));
}

/** 404 unless `who` may read leaf bytes `leaf` (another member's leaf looks like a missing one). */
function checkMayRead(who: LedgerReader, index: bigint, leaf: Uint8Array): void {
  if (!mayRead(who, memberOf(leaf))) throw new HttpError(404, "NOT_FOUND", `no leaf ${index}`);
}

/** The member a stored leaf names; undefined for network leaves or bytes that no longer decode. */
function memberOf(leaf: Uint8Array): string | undefined {
  try {
    return decodeAuditEvent(leaf).member;
  } catch {
    return undefined;
  }
}

function decimal(value: string | null | undefined, name: string): bigint {
  const n = value === null || value === undefined ? undefined : parseDecimal(value);
  if (n === undefined)
    throw new HttpError(400, "BAD_INPUT", `${name} must be a decimal integer without leading zeros`);
  return n;
}

export function logRoutes(deps: AuditLogDeps, auth?: LedgerReaderAuth): Route[] {
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
        const proof = await proveInclusion(deps, index, size);
        sendJson(res, 200, { index, size, proof: proof.map(base64Encode) });
      },
    },
    {
      method: "GET",
      path: "/log/proof/consistency",
      handle: async ({ res, url }) => {
        const from = decimal(url.searchParams.get("from"), "from");
        const to = decimal(url.searchParams.get("to"), "to");
        const proof = await proveConsistency(deps, from, to);
        sendJson(res, 200, { from, to, proof: proof.map(base64Encode) });
      },
    },
    {
      method: "GET",
      path: "/log/leaf/:index",
      handle: async ({ req, res, url, params }) => {
        const who = await reader(auth, req, url);
        const leaf = await getLeaf(deps, decimal(params["index"], "index"));
        checkMayRead(who, leaf.index, leaf.leaf);
        sendJson(res, 200, {
          index: leaf.index,
          leaf: base64Encode(leaf.leaf),
          leafHash: base64Encode(leaf.leafHash),
        });
      },
    },
    {
      method: "GET",
      path: "/log/leaves",
      handle: async ({ req, res, url }) => {
        const start = decimal(url.searchParams.get("start"), "start");
        const count = decimal(url.searchParams.get("count"), "count");
        if (count > 1_000_000n) throw new HttpError(400, "BAD_INPUT", "count is too large");
        // Anyone may re-hash the log, but leaf bytes go only to a signed reader allowed to read that leaf
        // (ADR 0040). Everyone gets `servedHash`, the leaf hash of the bytes as stored now (RFC 9162 §2.1.1),
        // so a leaf altered behind the triggers shows up against the signed root without revealing it.
        const who = req.headers[SIGNATURE_HEADERS.signature] ? await reader(auth, req, url) : undefined;
        const leaves = await listLeaves(deps, start, Number(count));
        sendJson(res, 200, {
          start,
          leaves: leaves.map((l) => ({
            index: l.index,
            ...(who && mayRead(who, memberOf(l.leaf)) ? { leaf: base64Encode(l.leaf) } : {}),
            servedHash: base64Encode(hashLeaf(l.leaf)),
            leafHash: base64Encode(l.leafHash),
            subtreeHashes: l.subtreeHashes.map(base64Encode),
          })),
        });
      },
    },
    {
      method: "GET",
      path: "/log/receipt/:index",
      handle: async ({ req, res, url, params }) => {
        const who = await reader(auth, req, url);
        const index = decimal(params["index"], "index");
        const leaf = await getLeaf(deps, index);
        checkMayRead(who, index, leaf.leaf);
        sendJson(res, 200, await buildReceipt(deps, index));
      },
    },
  ];
}
