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
import {
  CONTACT_CONDUCT,
  type ExportSlice,
  fromBase64Url,
  type SubjectReport,
  toBase64Url,
} from "@relink/protocol";
import { blindIdentifiers, combineResponses, loadSodiumGroup } from "@relink/psi";
import {
  createHubClient,
  type HubClient,
  MemberNode,
  parseDebtorRows,
  rotateDpoKey,
  rotateSigningKey,
  webCryptoSigner,
  wireError,
} from "@relink/sdk/browser";
import { exposureSubjectsTable } from "@relink/sdk/columns";
import { buildExportPack, tarArchive } from "@relink/sdk/dpo";
import verifierSource from "@relink/sdk/verify-export.mjs";
import { verifyReceiptAsync, verifySubjectReport } from "@relink/tlog";
import {
  loadDpoKey,
  loadMemberKey,
  newDpoKey,
  newMemberSigningKey,
  replaceDpoKey,
  replaceMemberSigningKey,
} from "./keys.ts";
import type {
  ReportCheck,
  SubjectIdentifiers,
  WorkerMessage,
  WorkerRequest,
  WorkerResult,
} from "./protocol.ts";
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
      if (parsed.rows.length === 0)
        return {
          op: "match",
          rows: dataRows,
          matches: [],
          conduct: CONTACT_CONDUCT,
          errors,
          receipts: [],
          caseCommitment: null,
        };
      const node = await connect(req.id);
      const r = await node.match(parsed.rows, req.purpose as Parameters<MemberNode["match"]>[1], req.caseId);
      return {
        op: "match",
        rows: dataRows,
        matches: r.results,
        conduct: r.conduct,
        errors,
        receipts: r.receipts,
        caseCommitment: r.caseCommitment,
      };
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
    case "rotate-key":
      return rotateKey();
    case "rotate-dpo-key":
      return rotateDpo();
    case "dpo-report":
      return subjectReport(req);
    case "dpo-verify": {
      let report: unknown;
      try {
        report = JSON.parse(req.reportJson);
      } catch {
        throw new Error("the report file is not JSON");
      }
      const check = await checkReport(
        dpoClient(await dpoKey(), await networkId()),
        report,
        req.tags,
        req.logKey,
      );
      return { op: "dpo-verify", ...check };
    }
    case "dpo-replay":
      return consentReplay(req);
    case "dpo-export":
      return exportPack(req);
    case "honeytokens":
      return honeytokens(req, now);
    case "opt-out-tags":
      return optOutTags(req, now);
  }
}

// ------------------------------------------------------------------------- the network's registries

const tagsOf = (tags: Map<string, { tag: Uint8Array }>) => [...tags.values()].map((t) => toBase64Url(t.tag));

/**
 * `relink admin plant-honeytokens` in the browser (ADRs 0045, 0036): the synthetic identities' contacts are
 * published from the network-owned member (its key imported on "Member key"), and their tags computed
 * through the key holders; the page registers the tags. A bad cell refuses the whole file, as in the CLI.
 */
async function honeytokens(
  req: Extract<WorkerRequest, { op: "honeytokens" }>,
  now: Date,
): Promise<WorkerResult> {
  const parsed = readContacts(req.csv, now);
  const none = {
    op: "honeytokens" as const,
    rows: parsed.dataRows,
    records: 0,
    epoch: 0,
    tags: [],
    errors: parsed.errors,
    receipts: [],
  };
  if (parsed.errors.length > 0 || parsed.rows.length === 0) return none;
  const node = await connect(req.id);
  const published = await node.publishContacts(parsed.rows);
  const tags = await node.tags([...new Set(parsed.rows.flatMap((r) => r.subjects))]);
  return {
    ...none,
    records: published.records,
    epoch: node.network.epoch.epoch,
    tags: tagsOf(tags),
    receipts: published.receipts,
  };
}

/** A subject as the DPO typed it, parsed as one CSV row of the CLI's debtor table would be. */
function typedSubject(subject: SubjectIdentifiers, now: Date) {
  const { rows, errors } = parseDebtorRows(
    [
      {
        debtor_ref: "subject",
        id_number: subject.idNumber,
        subject_phone: subject.phone,
        name: subject.name,
        dob: subject.dob,
      },
    ],
    now,
  );
  return { rows, errors, dataRows: 1 };
}

/**
 * `relink admin opt-out` in the browser: the subjects' identifiers (typed, or the CLI's debtor CSV) are
 * normalised here and turned into tags through the key holders with the network-owned member's key; only
 * the tags leave, registered by the page. A bad cell refuses the whole file.
 */
async function optOutTags(
  req: Extract<WorkerRequest, { op: "opt-out-tags" }>,
  now: Date,
): Promise<WorkerResult> {
  const parsed = "csv" in req ? readDebtors(req.csv, now) : typedSubject(req.subject, now);
  const none = {
    op: "opt-out-tags" as const,
    rows: parsed.dataRows,
    subjects: 0,
    epoch: 0,
    tags: [],
    errors: parsed.errors,
  };
  if (parsed.errors.length > 0 || parsed.rows.length === 0) return none;
  const node = await connect(req.id);
  const tags = await node.tags([...new Set(parsed.rows.flatMap((r) => r.subjects))]);
  return { ...none, subjects: parsed.rows.length, epoch: node.network.epoch.epoch, tags: tagsOf(tags) };
}

// ------------------------------------------------------------------------------------ key rotation

/**
 * Rotation from the browser (ADRs 0068, 0037): a new Ed25519 key is made here (non-extractable once imported;
 * its seed only in the key file the page offers for download), the hub is asked — signed with the current
 * key — to switch to it, with the new key's proof of possession; then the stored key is replaced. Nothing
 * secret is sent. `rotate` is the SDK call for the key's kind, `store` replaces the stored key.
 */
async function rotateStoredKey(o: {
  op: "rotate-key" | "rotate-dpo-key";
  current: { privateKey: CryptoKey; publicKey: Uint8Array };
  next: { privateKey: CryptoKey; publicKey: Uint8Array; keyFile: string };
  rotate: typeof rotateSigningKey;
  store: () => Promise<unknown>;
}): Promise<WorkerResult> {
  const signer = webCryptoSigner(o.current.privateKey, o.current.publicKey);
  const client = createHubClient({
    url: `${self.location.origin}/api`,
    signer,
    networkId: await networkId(),
  });
  const r = await o.rotate(client, {
    currentFingerprint: signer.fingerprint,
    newKey: { publicKey: o.next.publicKey, sign: webCryptoSigner(o.next.privateKey, o.next.publicKey).sign },
  });
  // The hub has switched: the old key is refused from now on. Keep the key file even if storing fails.
  let stored = true;
  try {
    await o.store();
  } catch {
    stored = false;
  }
  return {
    op: o.op,
    oldFingerprint: r.oldFingerprint,
    newFingerprint: r.newFingerprint,
    rotatedAt: r.rotatedAt,
    keyFile: o.next.keyFile,
    stored,
    receipts: [r.receipt],
  };
}

/** The member's request-signing key (ADR 0068). */
async function rotateKey(): Promise<WorkerResult> {
  const current = await loadMemberKey();
  if (!current) throw new Error("no member key in this browser");
  const next = await newMemberSigningKey(current, self.location.origin);
  return rotateStoredKey({
    op: "rotate-key",
    current,
    next,
    rotate: rotateSigningKey,
    store: () => replaceMemberSigningKey(current, next),
  });
}

// ----------------------------------------------------------------------------------------------- DPO

/**
 * ADR 0037: a member DPO's key rotates like the member's signing key. A network DPO's key lives in the hub's
 * configuration: the hub refuses (FORBIDDEN).
 */
async function rotateDpo(): Promise<WorkerResult> {
  const current = await dpoKey();
  const next = await newDpoKey();
  return rotateStoredKey({
    op: "rotate-dpo-key",
    current,
    next,
    rotate: rotateDpoKey,
    store: () => replaceDpoKey(next),
  });
}

async function dpoKey() {
  const key = await loadDpoKey();
  if (!key) throw new Error("no DPO key in this browser");
  return key;
}

/** The hub's tRPC client with every request signed by the DPO's non-extractable key. */
function dpoClient(key: { privateKey: CryptoKey; publicKey: Uint8Array }, network: string): HubClient {
  return createHubClient({
    url: `${self.location.origin}/api`,
    signer: webCryptoSigner(key.privateKey, key.publicKey),
    networkId: network,
  });
}

/**
 * Checks a subject report here, as `relink dpo subject-report` does (tlog's verifySubjectReport): every
 * receipt against the pinned log key, every shown field against its verified leaf, the subject evidence,
 * and — for a member DPO — each link key recomputed from the member's commitment key and the tags.
 */
async function checkReport(
  client: HubClient,
  report: unknown,
  tags: string[],
  logKey: string,
): Promise<ReportCheck> {
  let memberKey: { memberId: string; key: Uint8Array } | undefined;
  try {
    const k = await client.dpo.commitmentKey.query();
    memberKey = { memberId: k.memberId, key: fromBase64Url(k.key) };
  } catch (error) {
    if (wireError(error)?.code !== "FORBIDDEN") throw error; // the network DPO has none
  }
  const v = verifySubjectReport(report, {
    logKey,
    witnesses: [],
    k: 0,
    tags: tags.map(fromBase64Url),
    ...(memberKey ? { memberKey } : {}),
  });
  return {
    report: report as SubjectReport,
    tags,
    verified: v.ok,
    problems: v.ok ? [] : v.problems,
  };
}

/**
 * PIPL Art. 45: the subject's identifiers are parsed and normalised here exactly as the CLI does
 * (parseDebtorRows), the tags computed through the key holders with the member key (metered and logged
 * there, like any lookup), and only the tags go to the hub, in a request signed with the DPO key.
 */
async function subjectReport(req: Extract<WorkerRequest, { op: "dpo-report" }>): Promise<WorkerResult> {
  const { rows, errors } = typedSubject(req.subject, new Date());
  const key = await dpoKey();
  if (rows.length === 0) return { op: "dpo-report", errors, check: null };
  const identifiers = rows[0]!.subjects;
  const node = await connect(req.id);
  const tagged = await node.tags(identifiers);
  const tags = identifiers.map((id) => toBase64Url(tagged.get(id)!.tag));
  const client = dpoClient(key, await networkId());
  const report = await client.dpo.subjectReport.mutate({ tags, requestReference: req.requestReference });
  return { op: "dpo-report", errors, check: await checkReport(client, report, tags, req.logKey) };
}

/** Was the query of leaf N covered at query time: the hub's replay, its receipt verified here. */
async function consentReplay(req: Extract<WorkerRequest, { op: "dpo-replay" }>): Promise<WorkerResult> {
  const client = dpoClient(await dpoKey(), await networkId());
  const r = await client.dpo.consentReplay.query({ index: req.index });
  const v = await verifyReceiptAsync(r.receipt, { logKey: req.logKey, witnesses: [], k: 0 });
  const receiptProblem = !v.ok
    ? `${v.reason}: ${v.message}`
    : v.index !== BigInt(req.index) || v.event.type !== r.event
      ? "the receipt is not of the leaf asked about"
      : null;
  const { receipt: _receipt, ...replay } = r;
  return { op: "dpo-replay", replay, receiptProblem };
}

/**
 * The regulator export pack (ADR 0042), built by the CLI's own code (sdk dpo.ts) and signed here with the
 * DPO's non-extractable key; handed to the page as one tar archive of the CLI's directory.
 */
async function exportPack(req: Extract<WorkerRequest, { op: "dpo-export" }>): Promise<WorkerResult> {
  const key = await dpoKey();
  const client = dpoClient(key, await networkId());
  const slice = (await client.dpo.exportSlice.mutate({
    from: req.from,
    ...(req.to !== undefined ? { to: req.to } : {}),
    pipiaReference: req.pipiaReference,
  })) as ExportSlice;
  const createdAt = new Date();
  const pack = await buildExportPack({
    slice,
    pipiaReference: req.pipiaReference,
    logKey: req.logKey,
    verifierSource,
    signer: {
      publicKey: key.publicKey,
      sign: async (m) =>
        new Uint8Array(
          await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, m as Uint8Array<ArrayBuffer>),
        ),
    },
    createdAt,
  });
  const name = `relink-export-${slice.from}-${slice.to}`;
  return {
    op: "dpo-export",
    name,
    archive: tarArchive(name, pack.files, createdAt),
    signerPublicKey: pack.signerPublicKey,
    leaves: slice.leaves.length,
    from: slice.from,
    to: slice.to,
  };
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
