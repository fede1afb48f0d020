/**
 * CSV for the portal's pages. Input files (publish, match, consents, exposure queries) are read in the
 * crypto worker by the SDK's reader, as in the CLI (web/uploads.ts). `parseCsv` reads the result files the
 * CLI writes (`relink exposure --out`) for charting, on the same SDK tokenizer (RFC 4180, `parseCsvText`),
 * keyed by the header's own names; errors name the line. Downloads are written with the SDK's Excel-safe
 * writer (`formatCsv` of `@relink/sdk/csv`, the CLI's: UTF-8 BOM, CRLF, formula-like and number-like text
 * cells prefixed with an apostrophe, so phones stay text).
 */
import { parseCsvText, CsvError as SdkCsvError } from "@relink/sdk/csv";

export class CsvError extends Error {
  override readonly name = "CsvError";
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

export const MAX_CSV_ROWS = 200_000;

export function parseCsv(text: string): Record<string, string>[] {
  let records: { row: number; cells: string[] }[];
  try {
    records = parseCsvText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, {
      maxRows: MAX_CSV_ROWS,
    }).records;
  } catch (e) {
    if (e instanceof SdkCsvError) throw new CsvError(e.row ?? 1, e.message);
    throw e;
  }
  const rows = records.filter((r) => !(r.cells.length === 1 && r.cells[0] === ""));
  const [header, ...body] = rows;
  if (!header) throw new CsvError(1, "empty file: a header row is required");
  const names = header.cells.map((h) => h.trim());
  if (new Set(names).size !== names.length) throw new CsvError(1, "duplicate column names in the header");
  return body.map(({ row, cells }) => {
    if (cells.length !== names.length)
      throw new CsvError(row, `${cells.length} fields, the header has ${names.length}`);
    return Object.fromEntries(names.map((n, k) => [n, cells[k]!.trim()]));
  });
}
