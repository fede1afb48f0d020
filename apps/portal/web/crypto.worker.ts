/// <reference lib="webworker" />
/**
 * The portal's crypto worker: everything that touches raw identifiers, contact values or the member's
 * signing key runs here, in the browser — CSV parsing, normalisation (packages/identity), blinding and
 * unblinding through the key holders (RFC 9497 threshold VOPRF on libsodium WASM), label sealing and
 * opening, request signing with the non-extractable WebCrypto key. What leaves: blinded elements to the key
 * holders, tags / sealed labels / consent metadata to the hub, all in signed requests.
 */
import { blindIdentifiers, combineResponses, loadSodiumGroup } from "@relink/psi";
import {
  MemberNode,
  parseConsentRows,
  parseContactRows,
  parseDebtorRows,
  webCryptoSigner,
} from "@relink/sdk/browser";
import { parseCsv } from "./csv.ts";
import { loadMemberKey } from "./keys.ts";
import type { WorkerMessage, WorkerRequest, WorkerResult } from "./protocol.ts";

declare const self: DedicatedWorkerGlobalScope;

const groupReady = loadSodiumGroup();

/**
 * The network id the worker signs for (hub audience), from the hub's public `/healthz` at the origin root:
 * the portal's tRPC lives under `/api`, where the SDK would otherwise look for it.
 */
let networkIdReady: Promise<string> | undefined;
function networkId(): Promise<string> {
  networkIdReady ??= (async () => {
    const res = await fetch(`${self.location.origin}/healthz`);
    const body = (await res.json().catch(() => undefined)) as { networkId?: unknown } | undefined;
    if (!res.ok || typeof body?.networkId !== "string")
      throw new Error(`the hub names no network at /healthz (${res.status})`);
    return body.networkId;
  })().catch((error: unknown) => {
    networkIdReady = undefined;
    throw error;
  });
  return networkIdReady;
}

async function connect(id: number): Promise<MemberNode> {
  const key = await loadMemberKey();
  if (!key) throw new Error("no member key in this browser");
  const group = await groupReady;
  return MemberNode.connect({
    hubUrl: `${self.location.origin}/api`,
    networkId: await networkId(),
    secrets: { signer: webCryptoSigner(key.privateKey, key.publicKey), recordKey: key.recordKey },
    crypto: {
      blind: (e, ids) => blindIdentifiers(e, ids, { group }),
      combine: (k, b, r) => combineResponses(k, b, r, { group }),
    },
    onProgress: (stage, done, total) => post({ id, type: "progress", stage, done, total }),
  });
}

function post(m: WorkerMessage): void {
  self.postMessage(m);
}

async function run(req: WorkerRequest): Promise<WorkerResult> {
  const now = new Date();
  switch (req.op) {
    case "publish": {
      const records = parseCsv(req.csv);
      const parsed = parseContactRows(records, now);
      if (parsed.rows.length === 0)
        return {
          op: "publish",
          rows: records.length,
          records: 0,
          batches: 0,
          errors: parsed.errors,
          receipts: [],
        };
      const node = await connect(req.id);
      const r = await node.publishContacts(parsed.rows);
      return {
        op: "publish",
        rows: records.length,
        records: r.records,
        batches: r.receipts.length,
        errors: parsed.errors,
        receipts: r.receipts,
      };
    }
    case "match": {
      const records = parseCsv(req.csv);
      const parsed = parseDebtorRows(records, now);
      if (parsed.rows.length === 0)
        return { op: "match", rows: records.length, matches: [], errors: parsed.errors, receipts: [] };
      const node = await connect(req.id);
      const r = await node.match(parsed.rows, req.purpose as Parameters<MemberNode["match"]>[1], req.caseId);
      return {
        op: "match",
        rows: records.length,
        matches: r.results,
        errors: parsed.errors,
        receipts: r.receipts,
      };
    }
    case "consents": {
      const records = parseCsv(req.csv);
      const parsed = parseConsentRows(records, now);
      if (parsed.rows.length === 0)
        return { op: "consents", rows: records.length, registered: 0, errors: parsed.errors, receipts: [] };
      const node = await connect(req.id);
      const r = await node.importConsents(parsed.rows);
      return {
        op: "consents",
        rows: records.length,
        registered: r.registered,
        errors: parsed.errors,
        receipts: r.receipts,
      };
    }
    case "revoke": {
      const node = await connect(req.id);
      const r = await node.revokeConsents(req.references);
      return { op: "revoke", revoked: r.revoked, receipts: r.receipts };
    }
  }
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  run(req).then(
    (result) => post({ id: req.id, type: "result", result }),
    (error: unknown) => post({ id: req.id, type: "error", message: messageOf(error) }),
  );
};

/** Error messages that may reach the page; they never carry row content (the SDK's errors name rows only). */
function messageOf(error: unknown): string {
  const relink = (error as { data?: { relink?: { code: string; message: string } } })?.data?.relink;
  if (relink) return `${relink.code}: ${relink.message}`;
  return error instanceof Error ? error.message : String(error);
}
