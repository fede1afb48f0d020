/**
 * The DPO's outputs, shared by the CLI (`relink dpo …`) and the portal's crypto worker, so both produce the
 * same bytes (ADRs 0041, 0042, 0064). Browser-safe: no Node built-in (test/browser-entry.test.ts).
 *
 * - `reportRows`: a verified subject access report (PIPL Art. 45) as table rows (CSV, the printable page),
 *   case references resolved from the member's own case register (the hub holds only commitments);
 *   `reportCsv`: those rows as Excel-safe CSV.
 * - `buildExportPack`: the regulator export pack (PIPL Art. 54–56): slice.json, pipia.json, the offline
 *   verifier (`verify.mjs`, passed in as its source text: `@relink/sdk/verify-export.mjs`), README.txt and
 *   manifest.json with each file's SHA-256, signed (Ed25519, RFC 8032) by the exporting DPO. The signer is a
 *   function, so the key may be a non-extractable WebCrypto key in a browser.
 * - `tarArchive`: the pack as one POSIX ustar archive (IEEE Std 1003.1-1988 §10.1.1, "ustar Interchange
 *   Format"), for a browser download; `tar -xf` gives the directory the CLI writes.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { type ExportSlice, type SubjectReport, toBase64Url } from "@relink/protocol";
import { formatCsv } from "./csv.ts";

// ------------------------------------------------------------------------------------ subject report

export const REPORT_COLUMNS = [
  "leaf_index",
  "time_utc8",
  "event",
  "member",
  "member_name",
  "purpose",
  "legal_basis",
  "case_reference",
  "case_commitment",
  "consent_references",
  "decision",
  "decision_reason",
  "subjects_in_request",
  "results_returned",
  "receipt_verified",
] as const;

export type ReportColumn = (typeof REPORT_COLUMNS)[number];
export type ReportRow = Record<ReportColumn, string>;

/**
 * One row per report entry. `cases`: the member's case register, commitment (hex, as in audit leaves) →
 * case id. `verified`: whether the whole report verified (nothing unverified is marked as verified).
 */
export function reportRows(
  report: SubjectReport,
  cases: ReadonlyMap<string, string>,
  verified: boolean,
): ReportRow[] {
  return report.entries.map((e) => ({
    leaf_index: String(e.index),
    time_utc8: e.timeUtc8,
    event: e.event,
    member: e.member?.slug ?? "(network)",
    member_name: e.member?.displayName ?? "",
    purpose: e.purpose ?? "",
    legal_basis: e.legalBasis ?? "",
    case_reference: (e.caseCommitment && cases.get(e.caseCommitment)) ?? "",
    case_commitment: e.caseCommitment ?? "",
    consent_references: e.consents.map((c) => c.reference).join("; "),
    decision: e.decision ?? "",
    decision_reason: e.decisionReason ?? "",
    subjects_in_request: e.inputSize === null ? "" : String(e.inputSize),
    results_returned: e.outputCount === null ? "" : String(e.outputCount),
    receipt_verified: verified ? "yes" : "NO",
  }));
}

const NUMERIC_COLUMNS = new Set<ReportColumn>(["leaf_index", "subjects_in_request", "results_returned"]);

/**
 * The report as CSV, by the SDK's one Excel-safe writer (`formatCsv`: UTF-8 BOM, formula cells neutralised per
 * OWASP, digit strings kept as text); indices and counts are written as numbers.
 */
export function reportCsv(rows: readonly ReportRow[]): string {
  return formatCsv(
    REPORT_COLUMNS.map((key) => ({ key })),
    rows.map((r) =>
      Object.fromEntries(
        REPORT_COLUMNS.map((c) => [c, NUMERIC_COLUMNS.has(c) && r[c] !== "" ? Number(r[c]) : r[c]]),
      ),
    ),
  );
}

// ------------------------------------------------------------------------------------- export pack

export const EXPORT_PACK_FORMAT = "relink-export-pack/v1";

export interface PackSigner {
  /** The DPO's Ed25519 public key (32 bytes). */
  publicKey: Uint8Array;
  /** Ed25519 over the message (noble with a secret key, or WebCrypto with a non-extractable key). */
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export interface PackInput {
  slice: ExportSlice;
  pipiaReference: string;
  /** The log's verifier key as the member pinned it. */
  logKey: string;
  /** The text of the offline verifier shipped in the pack (`@relink/sdk/verify-export.mjs`). */
  verifierSource: string;
  signer: PackSigner;
  createdAt: Date;
}

export interface PackFile {
  path: string;
  bytes: Uint8Array;
}

const README = [
  "Relink regulator export pack (relink-export-pack/v1) / 监管导出包",
  "",
  "slice.json   audit log leaves with inclusion proofs, the signed (cosigned) checkpoint, earlier",
  "             checkpoints with consistency proofs, consent records, members, the export's receipt",
  "pipia.json   the member's personal-information protection impact assessment reference",
  "manifest.json / manifest.sig   SHA-256 of every file, signed (Ed25519) by the exporting DPO",
  "verify.mjs   independent verifier, Node built-ins only:",
  "             node verify.mjs --signer-key <DPO public key> --log-key <log verifier key> [--witness <vkey>]",
  "",
].join("\n");

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Every file of the pack, in order (manifest.json and manifest.sig last); the signer's public key. */
export async function buildExportPack(
  input: PackInput,
): Promise<{ files: PackFile[]; signerPublicKey: string }> {
  const content: PackFile[] = [
    { path: "slice.json", bytes: utf8(`${JSON.stringify(input.slice, null, 2)}\n`) },
    {
      path: "pipia.json",
      bytes: utf8(
        `${JSON.stringify({ pipiaReference: input.pipiaReference, scope: input.slice.scope }, null, 2)}\n`,
      ),
    },
    { path: "verify.mjs", bytes: utf8(input.verifierSource) },
    { path: "README.txt", bytes: utf8(README) },
  ];
  const signerPublicKey = toBase64Url(input.signer.publicKey);
  const manifest = {
    format: EXPORT_PACK_FORMAT,
    createdAt: input.createdAt.toISOString(),
    scope: input.slice.scope,
    range: { from: input.slice.from, to: input.slice.to },
    pipiaReference: input.pipiaReference,
    logKey: input.logKey,
    signerPublicKey,
    files: content.map((f) => ({ path: f.path, bytes: f.bytes.length, sha256: hex(sha256(f.bytes)) })),
  };
  const manifestBytes = utf8(`${JSON.stringify(manifest, null, 2)}\n`);
  const signature = await input.signer.sign(manifestBytes);
  return {
    files: [
      ...content,
      { path: "manifest.json", bytes: manifestBytes },
      { path: "manifest.sig", bytes: utf8(`${base64(signature)}\n`) },
    ],
    signerPublicKey,
  };
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

// --------------------------------------------------------------------------------------------- tar

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width − 1 octal digits, then NUL (ustar numeric fields).
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name: string, size: number, type: "0" | "5", mode: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (offset: number, length: number, text: string) => {
    const b = utf8(text);
    if (b.length > length) throw new Error(`tar: ${name}: field too long`);
    h.set(b, offset);
  };
  put(0, 100, name);
  put(100, 8, octal(mode, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(size, 12));
  put(136, 12, octal(mtime, 12));
  put(148, 8, "        "); // the checksum is computed with its own field as spaces
  put(156, 1, type);
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** A ustar archive of `files` under the directory `dir` (owner-only modes, like the CLI's files). */
export function tarArchive(dir: string, files: readonly PackFile[], mtime: Date): Uint8Array {
  if (!/^[A-Za-z0-9._-]{1,90}$/.test(dir)) throw new Error("tar: unsafe directory name");
  const t = Math.floor(mtime.getTime() / 1000);
  const parts: Uint8Array[] = [header(`${dir}/`, 0, "5", 0o700, t)];
  for (const f of files) {
    if (!/^[A-Za-z0-9._-]+$/.test(f.path)) throw new Error(`tar: unsafe file name ${f.path}`);
    parts.push(header(`${dir}/${f.path}`, f.bytes.length, "0", 0o600, t), f.bytes);
    const pad = (BLOCK - (f.bytes.length % BLOCK)) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
