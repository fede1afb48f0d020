/**
 * A lender's exposure book (CSV records with a header row) → per-subject figures as of a day
 * (docs/protocol/exposure-he.md §2 and "Member side"). Subjects are keyed by the resident ID only. Every bad
 * cell is reported with row (header = row 1), field and reason; a row with any bad cell is left out whole;
 * good rows are kept. Figures are whole units, range-checked per loan and capped per subject with
 * EXPOSURE_CAPS before they are ever encoded.
 */
import { parseRows } from "@relink/identity";
import { EXPOSURE_CAPS, EXPOSURE_FEATURES, type ExposureFeature } from "@relink/protocol";
import { type RowNumbers, rowAt, type UploadError } from "./rows.ts";

export const LOAN_STATUSES = ["active", "closed"] as const;
export type LoanStatus = (typeof LOAN_STATUSES)[number];

/** Per-loan sanity bounds (the per-subject caps apply after summing). */
export const LOAN_LIMITS = {
  /** 10^12 CNY: anything larger is a data error, not a loan. */
  outstanding: 1_000_000_000_000,
  /** 100 years. */
  daysPastDue: 36_500,
  loanIdLength: 100,
} as const;

export interface ExposureLoan {
  row: number;
  /** Canonical `cn-id:` identifier of the borrower. */
  subject: string;
  loanId: string;
  status: LoanStatus;
  /** Whole CNY. */
  outstanding: number;
  daysPastDue: number;
  /** YYYY-MM-DD. */
  openedOn: string;
}

export interface ExposureBook {
  loans: readonly ExposureLoan[];
  /** Distinct subjects (canonical `cn-id:` identifiers), in first-seen order. */
  subjects: readonly string[];
}

/** One subject's figures at one lender, each in [0, EXPOSURE_CAPS[feature]]. */
export type ExposureFigures = Readonly<Record<ExposureFeature, number>>;

export const BOOK_COLUMNS = [
  "id_number",
  "loan_id",
  "status",
  "outstanding",
  "days_past_due",
  "opened_on",
] as const;

type Rec = Readonly<Record<string, unknown>>;
const DAY_MS = 86_400_000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar day written YYYY-MM-DD. */
export function isDay(s: string): boolean {
  if (!DAY.test(s)) return false;
  const ms = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(s);
}

/** Whole days from `from` to `to` (both YYYY-MM-DD); negative when `to` is earlier. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

function err(row: number, field: string, reason: string, message: string): UploadError {
  return { row, field, reason, message };
}

const text = (rec: Rec, column: string): string => {
  const v = rec[column];
  return typeof v === "string" ? v.trim() : v === undefined || v === null ? "" : String(v).trim();
};

/** A whole, non-negative number of units; "1200" and "1200.00" are whole, "1200.5" is not. */
function wholeUnits(
  row: number,
  field: string,
  raw: string,
  max: number,
): { ok: true; value: number } | { ok: false; error: UploadError } {
  if (raw === "") return { ok: false, error: err(row, field, "empty", `${field} is required`) };
  if (/^-\s*\d/.test(raw)) return { ok: false, error: err(row, field, "negative", `${field} must be ≥ 0`) };
  const m = /^(\d{1,16})(?:\.(\d+))?$/.exec(raw);
  if (!m)
    return {
      ok: false,
      error: err(row, field, "invalid", `${field} must be a whole number (digits only, no separators)`),
    };
  if (m[2] && /[^0]/.test(m[2]))
    return { ok: false, error: err(row, field, "not-whole", `${field} must be in whole units`) };
  const value = Number(m[1]);
  if (value > max)
    return { ok: false, error: err(row, field, "too-large", `${field} is larger than ${max}`) };
  return { ok: true, value };
}

/**
 * The id_number column of every row, parsed as a resident ID: the canonical identifier by spreadsheet row,
 * and the rows' identifier errors (the caller adds its own columns' errors).
 */
function parseIdNumbers(
  records: readonly Rec[],
  now: Date,
  rowNumbers: RowNumbers | undefined,
): { errors: UploadError[]; subjectOf: Map<number, string | undefined> } {
  const parsed = parseRows(records, { id_number: "cn-id" }, { now, firstRowNumber: 0 });
  const errors: UploadError[] = parsed.errors.map((e) => ({
    row: rowAt(rowNumbers, e.row),
    field: e.field,
    reason: e.reason,
    message: e.message,
  }));
  const subjectOf = new Map(
    parsed.rows.map((r) => [rowAt(rowNumbers, r.row), r.identifiers["id_number"]?.canonical]),
  );
  return { errors, subjectOf };
}

/**
 * Parses an exposure book: columns id_number (required, resident ID), loan_id (required, unique in the
 * book), status (active | closed), outstanding (whole CNY ≥ 0), days_past_due (whole days ≥ 0), opened_on
 * (YYYY-MM-DD, not after `now`'s day). Other columns are ignored.
 */
export function parseExposureBook(
  records: readonly Rec[],
  now: Date,
  rowNumbers?: RowNumbers,
): { book: ExposureBook; errors: UploadError[] } {
  const { errors, subjectOf } = parseIdNumbers(records, now, rowNumbers);
  const today = now.toISOString().slice(0, 10);
  const seenLoans = new Map<string, number>();
  const loans: ExposureLoan[] = [];
  records.forEach((rec, i) => {
    const row = rowAt(rowNumbers, i);
    const rowErrors: UploadError[] = [];
    const loanId = text(rec, "loan_id");
    if (loanId === "") rowErrors.push(err(row, "loan_id", "empty", "loan_id is required"));
    else if (loanId.length > LOAN_LIMITS.loanIdLength)
      rowErrors.push(
        err(row, "loan_id", "too-long", `loan_id is longer than ${LOAN_LIMITS.loanIdLength} characters`),
      );
    else if (seenLoans.has(loanId))
      rowErrors.push(
        err(row, "loan_id", "duplicate", `loan_id already appears in row ${seenLoans.get(loanId)}`),
      );
    const status = text(rec, "status").toLowerCase() as LoanStatus;
    if (!LOAN_STATUSES.includes(status))
      rowErrors.push(err(row, "status", "invalid", `status must be one of ${LOAN_STATUSES.join(", ")}`));
    const outstanding = wholeUnits(row, "outstanding", text(rec, "outstanding"), LOAN_LIMITS.outstanding);
    if (!outstanding.ok) rowErrors.push(outstanding.error);
    const dpd = wholeUnits(row, "days_past_due", text(rec, "days_past_due"), LOAN_LIMITS.daysPastDue);
    if (!dpd.ok) rowErrors.push(dpd.error);
    const openedOn = text(rec, "opened_on");
    if (!isDay(openedOn)) rowErrors.push(err(row, "opened_on", "date-format", "expected YYYY-MM-DD"));
    else if (openedOn > today)
      rowErrors.push(err(row, "opened_on", "date-future", "opened_on is in the future"));
    const subject = subjectOf.get(row);
    // A loan id is taken by its first row even when another cell of that row is bad, so that a
    // corrected duplicate does not silently replace it.
    if (loanId !== "" && !seenLoans.has(loanId)) seenLoans.set(loanId, row);
    if (rowErrors.length > 0 || !subject || !outstanding.ok || !dpd.ok) {
      errors.push(...rowErrors);
      return;
    }
    loans.push({
      row,
      subject,
      loanId,
      status,
      outstanding: outstanding.value,
      daysPastDue: dpd.value,
      openedOn,
    });
  });
  errors.sort((a, b) => a.row - b.row);
  return { book: { loans, subjects: [...new Set(loans.map((l) => l.subject))] }, errors };
}

const zeroFigures = (): Record<ExposureFeature, number> =>
  Object.fromEntries(EXPOSURE_FEATURES.map((f) => [f, 0])) as Record<ExposureFeature, number>;

function dpdBucket(days: number): ExposureFeature {
  if (days === 0) return "dpd_current";
  if (days < 30) return "dpd_1_29";
  if (days < 60) return "dpd_30_59";
  if (days < 90) return "dpd_60_89";
  return "dpd_90_plus";
}

/**
 * Per-subject figures as of a day (§2):
 * - a loan opened after `asOf` did not exist yet and is ignored;
 * - active_lenders = 1 if the subject has an active loan; outstanding = Σ outstanding of active loans;
 *   dpd_* = number of active loans per days-past-due bucket (0, 1–29, 30–59, 60–89, 90+);
 * - opened_30d / opened_90d = loans (active or closed) opened 0–29 / 0–89 days before `asOf`;
 * - every figure is then capped with EXPOSURE_CAPS. `capped` counts subjects with at least one capped figure.
 * Every subject of the book gets an entry, all zeros when it has only closed, older loans.
 */
export function exposureFigures(
  book: ExposureBook,
  asOf: string,
): { figures: Map<string, ExposureFigures>; capped: number } {
  if (!isDay(asOf)) throw new RangeError("asOf must be a day, YYYY-MM-DD");
  const raw = new Map<string, Record<ExposureFeature, number>>();
  for (const s of book.subjects) raw.set(s, zeroFigures());
  for (const loan of book.loans) {
    const age = daysBetween(loan.openedOn, asOf);
    if (age < 0) continue;
    let f = raw.get(loan.subject);
    if (!f) {
      f = zeroFigures();
      raw.set(loan.subject, f);
    }
    if (loan.status === "active") {
      f.active_lenders = 1;
      f.outstanding += loan.outstanding;
      f[dpdBucket(loan.daysPastDue)] += 1;
    }
    if (age < 30) f.opened_30d += 1;
    if (age < 90) f.opened_90d += 1;
  }
  let capped = 0;
  const figures = new Map<string, ExposureFigures>();
  for (const [subject, f] of raw) {
    let clipped = false;
    for (const feature of EXPOSURE_FEATURES) {
      const cap = EXPOSURE_CAPS[feature];
      if (f[feature] > cap) {
        f[feature] = cap;
        clipped = true;
      }
      if (!Number.isSafeInteger(f[feature]) || f[feature] < 0)
        throw new RangeError(`figure ${feature} out of range`); // unreachable for parsed books
    }
    if (clipped) capped++;
    figures.set(subject, Object.freeze(f));
  }
  return { figures, capped };
}

/** An applicant or portfolio row for an exposure query. */
export interface ExposureSubjectRow {
  row: number;
  /** The querier's own reference (e.g. applicant_ref); empty when the column is absent and not required. */
  ref: string;
  /** Canonical `cn-id:` identifier. */
  subject: string;
}

/**
 * Parses the querier's applicants or portfolio: id_number (required) and a reference column
 * (`refColumn`, default applicant_ref; required unless `requireRef` is false).
 */
export function parseExposureSubjects(
  records: readonly Rec[],
  now: Date,
  options: { refColumn?: string; requireRef?: boolean; rowNumbers?: RowNumbers } = {},
): { rows: ExposureSubjectRow[]; errors: UploadError[] } {
  const rowNumbers = options.rowNumbers;
  const refColumn = options.refColumn ?? "applicant_ref";
  const requireRef = options.requireRef ?? true;
  const { errors, subjectOf } = parseIdNumbers(records, now, rowNumbers);
  const rows: ExposureSubjectRow[] = [];
  records.forEach((rec, i) => {
    const row = rowAt(rowNumbers, i);
    const ref = text(rec, refColumn);
    if (requireRef && ref === "") {
      errors.push(err(row, refColumn, "empty", `${refColumn} is required`));
      return;
    }
    if (ref.length > 100) {
      errors.push(err(row, refColumn, "too-long", `${refColumn} is longer than 100 characters`));
      return;
    }
    const subject = subjectOf.get(row);
    if (subject) rows.push({ row, ref, subject });
  });
  errors.sort((a, b) => a.row - b.row);
  return { rows, errors };
}
