/** CSV in and out with a header row (UTF-8, optional BOM). */
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";

export class CsvError extends Error {
  override readonly name = "CsvError";
}

export function readCsv(path: string): Record<string, string>[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new CsvError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return parse(text, {
      columns: true,
      bom: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: false,
    });
  } catch (error) {
    // csv-parse names the line; it never includes cell content in its message for these errors.
    throw new CsvError(`${path}: ${(error as Error).message}`);
  }
}

export function writeCsv(path: string, columns: string[], rows: Record<string, unknown>[]): void {
  writeFileSync(path, stringify(rows, { header: true, columns }), { mode: 0o600 });
}
