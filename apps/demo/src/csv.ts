import { writeFileSync } from "node:fs";
import { formatCsv } from "@relink/sdk/csv";

/**
 * Writes rows as the CLI writes its CSVs — the SDK's one Excel-safe writer (UTF-8 BOM, formula cells
 * neutralised, digit strings such as resident IDs and phones kept as text) — with the first row's keys as
 * the header; mode 0600.
 */
export function writeCsvFile(path: string, rows: readonly object[]): void {
  const keys = rows[0] ? Object.keys(rows[0]) : [];
  writeFileSync(
    path,
    formatCsv(
      keys.map((key) => ({ key })),
      rows,
    ),
    { mode: 0o600 },
  );
}
