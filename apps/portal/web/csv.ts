/**
 * Minimal CSV for the browser (RFC 4180: quoted fields, doubled quotes, CRLF or LF, UTF-8 BOM). The CLI uses
 * csv-parse; a shared pure CSV module is being written (helper "cli") and should replace this one.
 * Errors name the line. The writer is Excel-safe: UTF-8 BOM, CRLF, every field quoted, and cells that a
 * spreadsheet would run as a formula (= + - @ tab CR, OWASP "CSV injection") prefixed with a quote.
 */

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
  const rows: string[][] = [];
  let field = "";
  let row: string[] = [];
  let quoted = false;
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = () => {
    row.push(field);
    field = "";
    if (!(row.length === 1 && row[0] === "")) rows.push(row);
    row = [];
    if (rows.length > MAX_CSV_ROWS + 1) throw new CsvError(line, `more than ${MAX_CSV_ROWS} rows`);
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"') {
      if (field.length > 0) throw new CsvError(line, "a quote inside an unquoted field");
      quoted = true;
    } else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
    } else field += c;
  }
  if (quoted) throw new CsvError(line, "unterminated quoted field");
  if (field.length > 0 || row.length > 0) endRow();
  const [header, ...body] = rows;
  if (!header) throw new CsvError(1, "empty file: a header row is required");
  const names = header.map((h) => h.trim());
  if (new Set(names).size !== names.length) throw new CsvError(1, "duplicate column names in the header");
  return body.map((cells, r) => {
    if (cells.length !== names.length)
      throw new CsvError(r + 2, `${cells.length} fields, the header has ${names.length}`);
    return Object.fromEntries(names.map((n, j) => [n, cells[j]!.trim()]));
  });
}

function safeCell(value: string | number): string {
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

export function toExcelCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const lines = [header, ...rows].map((r) => r.map(safeCell).join(","));
  return `\ufeff${lines.join("\r\n")}\r\n`;
}
