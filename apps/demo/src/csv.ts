import { writeFileSync } from "node:fs";
import { stringify } from "csv-stringify/sync";

export function writeCsvFile(path: string, rows: readonly object[]): void {
  writeFileSync(path, stringify(rows as Record<string, unknown>[], { header: true }), { mode: 0o600 });
}
