/**
 * CSV files in and out: the file I/O around @relink/sdk's pure reader and writer (encoding detection,
 * header aliases, Excel-safe output; see packages/sdk/src/csv.ts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type CsvTable, formatCsv, type Lang, outColumns, readCsvTable, type TableSpec } from "@relink/sdk";
import { UserError } from "./errors.ts";

export function readTable(path: string, spec: TableSpec, ignoreColumns: readonly string[] = []): CsvTable {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      code === "ENOENT"
        ? `${path}: no such file`
        : code === "EISDIR"
          ? `${path} is a directory`
          : `cannot read ${path}: ${code ?? (error as Error).message}`,
    );
  }
  try {
    return readCsvTable(bytes, spec, { ignoreColumns });
  } catch (error) {
    if ((error as Error).name === "CsvError") throw new UserError(`${path}: ${(error as Error).message}`);
    throw error;
  }
}

/** Writes a CSV (UTF-8 BOM, Excel-safe cells) with canonical or Chinese headers; mode 0600. */
export function writeCsv(
  path: string,
  keys: readonly string[],
  rows: readonly object[],
  lang: Lang = "en",
): void {
  writeFileSync(path, formatCsv(outColumns(keys, lang), rows), { mode: 0o600 });
}
