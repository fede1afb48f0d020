/**
 * Member uploads → typed rows. Subjects are keyed by every identifier the row has (resident ID, a phone
 * the member holds for the subject, name + date of birth): each becomes one tag. Bad rows are reported
 * with row number, field and reason; good rows proceed.
 */
import {
  type Identifier,
  parseEmail,
  parsePhone,
  parseRows,
  type RowError,
  type RowSpec,
} from "@relink/identity";
import {
  DATA_CATEGORIES,
  LABEL_KINDS,
  type LabelKind,
  LEGAL_BASES,
  PURPOSES,
  type Purpose,
} from "@relink/protocol";
import { SOURCE_TYPES, type SourceType } from "@relink/psi";

type LegalBasis = (typeof LEGAL_BASES)[number];
type DataCategory = (typeof DATA_CATEGORIES)[number];

export const SUBJECT_COLUMNS: RowSpec = {
  id_number: { kind: "cn-id", optional: true },
  subject_phone: { kind: "phone", optional: true },
  name: { kind: "name-dob", dobColumn: "dob", optional: true },
};

/** Where a label came from: the vocabulary the sealed label encodes (psi's label format), one list. */
export { SOURCE_TYPES, type SourceType };

export interface ContactValue {
  kind: LabelKind;
  value: string;
  firstSeen: string;
  lastSeen: string;
  sourceType: SourceType;
  confidence: number;
}

export interface ContactRow {
  row: number;
  subjects: string[];
  contact: ContactValue;
}

export interface DebtorRow {
  row: number;
  ref: string;
  subjects: string[];
}

type Rec = Readonly<Record<string, unknown>>;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function subjectsOf(identifiers: Record<string, Identifier>): string[] {
  return Object.values(identifiers).map((i) => i.canonical);
}

/** A rejected cell of an upload: row (header = row 1), column, stable reason code and an explanation. */
export interface UploadError {
  row: number;
  field: string;
  reason: string;
  message: string;
}

function err(row: number, field: string, reason: string, message: string): UploadError {
  return { row, field, reason, message };
}

const fromIdentity = (e: RowError): UploadError => ({
  row: e.row,
  field: e.field,
  reason: e.reason,
  message: e.message,
});

function isDay(s: string): boolean {
  return (
    DAY.test(s) &&
    !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) &&
    new Date(`${s}T00:00:00Z`).toISOString().startsWith(s)
  );
}

/** Normalises a contact value of a kind; free text (address, employer) is NFKC-folded and whitespace-collapsed. */
export function normaliseContact(
  kind: LabelKind,
  raw: string,
): { ok: true; value: string } | { ok: false; message: string } {
  if (kind === "phone") {
    const p = parsePhone(raw, { field: "value" });
    return p.ok ? { ok: true, value: p.value.e164 } : { ok: false, message: p.error.message };
  }
  if (kind === "email") {
    const e = parseEmail(raw, { field: "value" });
    return e.ok ? { ok: true, value: e.value.address } : { ok: false, message: e.error.message };
  }
  const text = raw.normalize("NFKC").replace(/\s+/gu, " ").trim();
  if (text.length === 0) return { ok: false, message: "empty value" };
  if (text.length > 300) return { ok: false, message: "value longer than 300 characters" };
  return { ok: true, value: text };
}

/**
 * Spreadsheet row numbers of `records` (header = row 1): given by the CSV reader, which skips blank rows;
 * by default the records are rows 2, 3, ….
 */
export type RowNumbers = readonly number[] | undefined;
export const rowAt = (rowNumbers: RowNumbers, index: number): number => rowNumbers?.[index] ?? index + 2;

function rowsWithSubjects(records: readonly Rec[], now: Date, rowNumbers: RowNumbers) {
  const parsed = parseRows(records, SUBJECT_COLUMNS, { now, firstRowNumber: 0 });
  const errors: UploadError[] = parsed.errors.map((e) => ({
    ...fromIdentity(e),
    row: rowAt(rowNumbers, e.row),
  }));
  const byRow = new Map(parsed.rows.map((r) => [rowAt(rowNumbers, r.row), r]));
  const badRows = new Set(errors.map((e) => e.row));
  return { byRow, errors, badRows };
}

export function parseContactRows(
  records: readonly Rec[],
  now: Date,
  rowNumbers?: RowNumbers,
): { rows: ContactRow[]; errors: UploadError[] } {
  const { byRow, errors, badRows } = rowsWithSubjects(records, now, rowNumbers);
  const rows: ContactRow[] = [];
  records.forEach((rec, i) => {
    const row = rowAt(rowNumbers, i);
    if (badRows.has(row)) return;
    const subjects = subjectsOf(byRow.get(row)?.identifiers ?? {});
    const rowErrors: UploadError[] = [];
    if (subjects.length === 0)
      rowErrors.push(
        err(row, "id_number", "empty", "no subject identifier (id_number, subject_phone or name + dob)"),
      );
    // Long form (kind + value) and wide form (a column per kind: phone, address, email, employer).
    const values: { kind: LabelKind; value: string }[] = [];
    const kindText = String(rec["kind"] ?? "").trim();
    const valueText = String(rec["value"] ?? "").trim();
    if (kindText !== "" || valueText !== "") {
      const kind = kindText as LabelKind;
      if (!LABEL_KINDS.includes(kind))
        rowErrors.push(
          err(row, "kind", "invalid-character", `kind must be one of ${LABEL_KINDS.join(", ")}`),
        );
      else {
        const v = normaliseContact(kind, valueText);
        if (v.ok) values.push({ kind, value: v.value });
        else rowErrors.push(err(row, "value", "invalid-character", v.message));
      }
    }
    for (const kind of LABEL_KINDS) {
      const cell = String(rec[kind] ?? "").trim();
      if (cell === "") continue;
      const v = normaliseContact(kind, cell);
      if (v.ok) values.push({ kind, value: v.value });
      else rowErrors.push(err(row, kind, "invalid-character", v.message));
    }
    if (values.length === 0 && rowErrors.length === 0)
      rowErrors.push(
        err(
          row,
          "value",
          "empty",
          "no contact value (kind + value, or a phone, address, email or employer column)",
        ),
      );
    const firstSeen = String(rec["first_seen"] ?? "").trim();
    const lastSeen = String(rec["last_seen"] ?? "").trim();
    if (!isDay(firstSeen)) rowErrors.push(err(row, "first_seen", "date-format", "expected YYYY-MM-DD"));
    if (!isDay(lastSeen)) rowErrors.push(err(row, "last_seen", "date-format", "expected YYYY-MM-DD"));
    else if (isDay(firstSeen) && lastSeen < firstSeen)
      rowErrors.push(err(row, "last_seen", "date-invalid", "last_seen is before first_seen"));
    else if (lastSeen > now.toISOString().slice(0, 10))
      rowErrors.push(err(row, "last_seen", "date-future", "last_seen is in the future"));
    const sourceType = (String(rec["source_type"] ?? "").trim() || "application") as SourceType;
    if (!SOURCE_TYPES.includes(sourceType))
      rowErrors.push(
        err(row, "source_type", "invalid-character", `source_type must be one of ${SOURCE_TYPES.join(", ")}`),
      );
    const confidenceText = String(rec["confidence"] ?? "").trim() || "50";
    const confidence = Number(confidenceText);
    if (!/^\d{1,3}$/.test(confidenceText) || confidence > 100)
      rowErrors.push(err(row, "confidence", "invalid-character", "confidence must be an integer 0..100"));
    if (rowErrors.length > 0) {
      errors.push(...rowErrors);
      return;
    }
    for (const v of values)
      rows.push({ row, subjects, contact: { ...v, firstSeen, lastSeen, sourceType, confidence } });
  });
  errors.sort((a, b) => a.row - b.row);
  return { rows, errors };
}

export function parseDebtorRows(
  records: readonly Rec[],
  now: Date,
  rowNumbers?: RowNumbers,
): { rows: DebtorRow[]; errors: UploadError[] } {
  const { byRow, errors, badRows } = rowsWithSubjects(records, now, rowNumbers);
  const rows: DebtorRow[] = [];
  records.forEach((rec, i) => {
    const row = rowAt(rowNumbers, i);
    if (badRows.has(row)) return;
    const ref = String(rec["debtor_ref"] ?? "").trim();
    const subjects = subjectsOf(byRow.get(row)?.identifiers ?? {});
    if (!ref) errors.push(err(row, "debtor_ref", "empty", "debtor_ref is required"));
    else if (subjects.length === 0)
      errors.push(
        err(row, "id_number", "empty", "no subject identifier (id_number, subject_phone or name + dob)"),
      );
    else rows.push({ row, ref, subjects });
  });
  errors.sort((a, b) => a.row - b.row);
  return { rows, errors };
}

export interface ConsentRow {
  row: number;
  ref: string;
  subjects: string[];
  purpose: Purpose;
  legalBasis: LegalBasis;
  dataCategories: DataCategory[];
  grantedAt: string;
  expiresAt: string;
  /** SHA-256 of the evidence the member keeps, 64 hex characters. */
  evidenceSha256: string;
}

export function parseConsentRows(
  records: readonly Rec[],
  now: Date,
  rowNumbers?: RowNumbers,
): { rows: ConsentRow[]; errors: UploadError[] } {
  const { byRow, errors, badRows } = rowsWithSubjects(records, now, rowNumbers);
  const rows: ConsentRow[] = [];
  const seenRefs = new Map<string, number>();
  records.forEach((rec, i) => {
    const row = rowAt(rowNumbers, i);
    if (badRows.has(row)) return;
    const rowErrors: UploadError[] = [];
    const text = (c: string) => String(rec[c] ?? "").trim();
    const ref = text("debtor_ref");
    if (!ref || ref.length > 100)
      rowErrors.push(err(row, "debtor_ref", "empty", "debtor_ref is required (at most 100 characters)"));

    const subjects = subjectsOf(byRow.get(row)?.identifiers ?? {});
    if (subjects.length === 0)
      rowErrors.push(
        err(row, "id_number", "empty", "no subject identifier (id_number, subject_phone or name + dob)"),
      );
    const purpose = text("purpose") as Purpose;
    if (!PURPOSES.includes(purpose))
      rowErrors.push(err(row, "purpose", "invalid", `purpose must be one of ${PURPOSES.join(", ")}`));
    const legalBasis = text("legal_basis") as LegalBasis;
    if (!LEGAL_BASES.includes(legalBasis))
      rowErrors.push(
        err(row, "legal_basis", "invalid", `legal_basis must be one of ${LEGAL_BASES.join(", ")}`),
      );
    const dataCategories = (text("categories") || "contact")
      .split(/[;|,]/)
      .map((c) => c.trim()) as DataCategory[];
    if (dataCategories.some((c) => !DATA_CATEGORIES.includes(c)))
      rowErrors.push(
        err(row, "categories", "invalid", `categories must be from ${DATA_CATEGORIES.join(", ")}`),
      );
    const grantedAt = text("granted_at");
    const expiresAt = text("expires_at");
    const g = Date.parse(grantedAt);
    const x = Date.parse(expiresAt);
    if (Number.isNaN(g))
      rowErrors.push(err(row, "granted_at", "date-format", "expected an ISO date or date-time"));
    if (Number.isNaN(x))
      rowErrors.push(err(row, "expires_at", "date-format", "expected an ISO date or date-time"));
    else if (!Number.isNaN(g) && x <= g)
      rowErrors.push(err(row, "expires_at", "date-invalid", "expires_at must be after granted_at"));
    const evidenceSha256 = text("evidence_sha256").toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(evidenceSha256))
      rowErrors.push(
        err(row, "evidence_sha256", "invalid", "expected the SHA-256 of the evidence as 64 hex characters"),
      );
    // References are the idempotency key of an import: two accepted rows may not share one.
    if (rowErrors.length === 0 && seenRefs.has(ref))
      rowErrors.push(
        err(
          row,
          "debtor_ref",
          "duplicate",
          `debtor_ref already used in row ${seenRefs.get(ref)} of this file`,
        ),
      );
    else if (rowErrors.length === 0) seenRefs.set(ref, row);
    if (rowErrors.length > 0) {
      errors.push(...rowErrors);
      return;
    }
    rows.push({
      row,
      ref,
      subjects,
      purpose,
      legalBasis,
      dataCategories: [...new Set(dataCategories)],
      grantedAt: new Date(g).toISOString(),
      expiresAt: new Date(x).toISOString(),
      evidenceSha256,
    });
  });
  errors.sort((a, b) => a.row - b.row);
  return { rows, errors };
}
