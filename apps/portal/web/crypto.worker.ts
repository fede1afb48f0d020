/// <reference lib="webworker" />
/**
 * The portal's crypto worker: everything that touches raw identifiers, contact values or the member's
 * signing key runs here, in the browser — CSV reading (the SDK's reader, as in the CLI: web/uploads.ts),
 * normalisation (packages/identity), blinding and unblinding through the key holders (RFC 9497 threshold
 * VOPRF on libsodium WASM), label sealing and opening, request signing with the non-extractable WebCrypto
 * key, and the exposure querier's BFV keys and decryption (node-seal WASM, loaded on the first query). What
 * leaves: blinded elements to the key holders, tags / sealed labels / consent metadata / the BFV public key
 * to the hub, all in signed requests.
 */
import { blindIdentifiers, combineResponses, loadSodiumGroup } from "@relink/psi";
import { MemberNode, webCryptoSigner } from "@relink/sdk/browser";
import { exposureSubjectsTable } from "@relink/sdk/columns";
import { loadMemberKey } from "./keys.ts";
import type { WorkerMessage, WorkerRequest, WorkerResult } from "./protocol.ts";
import { readConsents, readContacts, readDebtors, readTable, sortErrors } from "./uploads.ts";

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
      const parsed = readContacts(req.csv, now);
      const { errors, dataRows } = parsed;
      if (parsed.rows.length === 0)
        return { op: "publish", rows: dataRows, records: 0, batches: 0, errors, receipts: [] };
      const node = await connect(req.id);
      const r = await node.publishContacts(parsed.rows);
      return {
        op: "publish",
        rows: dataRows,
        records: r.records,
        batches: r.receipts.length,
        errors,
        receipts: r.receipts,
      };
    }
    case "match": {
      const parsed = readDebtors(req.csv, now);
      const { errors, dataRows } = parsed;
      if (parsed.rows.length === 0) return { op: "match", rows: dataRows, matches: [], errors, receipts: [] };
      const node = await connect(req.id);
      const r = await node.match(parsed.rows, req.purpose as Parameters<MemberNode["match"]>[1], req.caseId);
      return { op: "match", rows: dataRows, matches: r.results, errors, receipts: r.receipts };
    }
    case "consents": {
      const parsed = readConsents(req.csv, now);
      const { errors, dataRows } = parsed;
      if (parsed.rows.length === 0)
        return { op: "consents", rows: dataRows, registered: 0, errors, receipts: [] };
      const node = await connect(req.id);
      const r = await node.importConsents(parsed.rows);
      return { op: "consents", rows: dataRows, registered: r.registered, errors, receipts: r.receipts };
    }
    case "exposure":
      return exposure(req);
    case "revoke": {
      const node = await connect(req.id);
      const r = await node.revokeConsents(req.references);
      return { op: "revoke", revoked: r.revoked, receipts: r.receipts };
    }
  }
}

/**
 * The risk analyst's exposure query (docs/protocol/exposure-he.md, querier side), all in this worker:
 * applicants' resident IDs parsed and turned into tags through the key holders, a fresh BFV key pair made
 * here with node-seal (its secret key sealed in IndexedDB for the hub's 24 h cache window, web/he-keys.ts),
 * the signed query sent to the hub, the re-randomised sum decrypted and decoded here. node-seal and its WASM
 * load on the first query only.
 */
async function exposure(req: Extract<WorkerRequest, { op: "exposure" }>): Promise<WorkerResult> {
  const requireRef = req.mode === "subjects";
  const table = readTable(req.csv, exposureSubjectsTable(req.refColumn, requireRef));
  const x = await import("@relink/sdk/browser-exposure");
  const parsed = x.parseExposureSubjects(table.records, new Date(), {
    refColumn: req.refColumn,
    requireRef,
    rowNumbers: table.rows,
  });
  const empty = {
    op: "exposure" as const,
    mode: req.mode,
    rows: table.dataRows,
    errors: sortErrors([...table.errors, ...parsed.errors]),
    invited: 0,
    responded: 0,
    rounds: 0,
    cached: false,
    k: null,
    decrypted: true,
    undecryptable: null,
    results: [],
    aggregate: null,
    receipts: [],
  };
  if (parsed.rows.length === 0) return empty;
  post({ id: req.id, type: "progress", stage: "he", done: 0, total: 1 });
  const [{ loadHe }, { browserHeKeyStore }] = await Promise.all([
    import("@relink/he"),
    import("./he-keys.ts"),
  ]);
  const he = await loadHe({ locateFile: null });
  post({ id: req.id, type: "progress", stage: "he", done: 1, total: 1 });
  const key = await loadMemberKey();
  if (!key) throw new Error("no member key in this browser");
  const node = await connect(req.id);
  const client = x.createExposureClient({
    hubUrl: `${self.location.origin}/api`,
    signer: webCryptoSigner(key.privateKey, key.publicKey),
    networkId: node.network.epoch.networkId,
  });
  // The query itself: the hub waits for the lenders' round (seconds), then this worker decrypts.
  post({ id: req.id, type: "progress", stage: "exposure", done: 0, total: 1 });
  const r = await x.queryExposure(
    node,
    parsed.rows.map((row) => row.subject),
    {
      client,
      he,
      purpose: req.purpose as Parameters<typeof x.queryExposure>[2]["purpose"],
      mode: req.mode,
      keyStore: browserHeKeyStore(),
      caseId: req.caseId,
    },
  );
  post({ id: req.id, type: "progress", stage: "exposure", done: 1, total: 1 });
  const bySubject = new Map(r.subjects.map((s) => [s.subject, s]));
  const results = parsed.rows.map((row) => {
    const s = bySubject.get(row.subject)!;
    return { row: row.row, ref: row.ref, status: s.status, ...(s.features ? { features: s.features } : {}) };
  });
  const totals = r.aggregate?.totals;
  return {
    ...empty,
    invited: r.invited,
    responded: r.responded,
    rounds: r.rounds,
    cached: r.cached,
    k: r.k ?? null,
    decrypted: r.decrypted,
    undecryptable: r.undecryptable ?? null,
    // Aggregate mode: per-subject statuses only (figures exist only as the portfolio's noisy totals).
    results: req.mode === "subjects" ? results : results.map(({ features: _f, ...rest }) => rest),
    aggregate: totals
      ? x.presentAggregate(totals, r.aggregate?.noise, { answered: r.aggregate?.answered ?? 0, k: r.k })
      : null,
    receipts: r.receipt ? [r.receipt] : [],
  };
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
  // The exposure client's and querier's typed errors (ExposureClientError, ExposureError, HeError).
  const code = (error as { code?: unknown })?.code;
  if (error instanceof Error && typeof code === "string") return `${code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
