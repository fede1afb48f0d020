/** Option helpers shared by command groups. */
import { renameSync, writeFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";

/** Collects a repeatable option (`--witness A --witness B`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function nonNegativeInt(value: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

/**
 * Writes a file atomically (temp file + rename), so a crash never leaves half a state file. Synchronous on
 * purpose: callers check-and-update in memory and persist with no await in between.
 */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}
