/**
 * Uploaded files, read in the crypto worker exactly as the CLI reads them: the SDK's CSV reader
 * (`@relink/sdk/csv`: UTF-8 / UTF-16LE / GBK-GB18030 detection, Chinese and English header aliases, typed
 * row errors, spreadsheet row numbers) with the CLI's table specs (`@relink/sdk/columns`), then the SDK's row
 * parsers. A file-level problem throws the reader's CsvError (its `code` names it); row problems come back as
 * errors naming row, column and reason — never a cell's content. Pure: no worker or DOM globals.
 */
import {
  type ConsentRow,
  type ContactRow,
  type DebtorRow,
  parseConsentRows,
  parseContactRows,
  parseDebtorRows,
  type UploadError,
} from "@relink/sdk/browser";
import { CONSENT_TABLE, CONTACT_TABLE, DEBTOR_TABLE } from "@relink/sdk/columns";
import { readCsvTable, type TableSpec } from "@relink/sdk/csv";

export interface Upload<Row> {
  rows: Row[];
  errors: UploadError[];
  /** Data rows in the file (blank rows excluded). */
  dataRows: number;
}

/** The table layer alone: records keyed by canonical column, their row numbers, CSV-level row errors. */
export function readTable(bytes: Uint8Array, spec: TableSpec) {
  const t = readCsvTable(bytes, spec);
  return { records: t.records, rows: t.rows, errors: t.errors as UploadError[], dataRows: t.dataRows };
}

export const sortErrors = <E extends { row: number }>(errors: E[]): E[] =>
  errors.sort((a, b) => a.row - b.row);

function read<Row>(
  bytes: Uint8Array,
  spec: TableSpec,
  parse: (
    records: Record<string, string>[],
    now: Date,
    rows: number[],
  ) => { rows: Row[]; errors: UploadError[] },
  now: Date,
): Upload<Row> {
  const t = readTable(bytes, spec);
  const parsed = parse(t.records, now, t.rows);
  return { rows: parsed.rows, errors: sortErrors([...t.errors, ...parsed.errors]), dataRows: t.dataRows };
}

export const readContacts = (bytes: Uint8Array, now: Date): Upload<ContactRow> =>
  read(bytes, CONTACT_TABLE, parseContactRows, now);
export const readDebtors = (bytes: Uint8Array, now: Date): Upload<DebtorRow> =>
  read(bytes, DEBTOR_TABLE, parseDebtorRows, now);
export const readConsents = (bytes: Uint8Array, now: Date): Upload<ConsentRow> =>
  read(bytes, CONSENT_TABLE, parseConsentRows, now);
