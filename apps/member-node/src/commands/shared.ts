/**
 * What every member command shares: the common options (settings, output, files), the checks made before
 * any work (output files and the receipts directory writable), reporting rejected rows, saving and
 * verifying receipts, and turning any error into one line and an exit code (see ../errors.ts).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PURPOSES, type Purpose } from "@relink/protocol";
import type { CsvTable, Lang, TableSpec, UploadError } from "@relink/sdk";
import { verifyReceipt } from "@relink/tlog";
import { type Command, InvalidArgumentError } from "commander";
import { readTable, writeCsv } from "../csv.ts";
import { describeError, EXIT, exitCodeOf, talkingTo } from "../errors.ts";
import { progressReporter } from "../progress.ts";
import { checkOutputFile, prepareDir, resolveSettings, type Settings } from "../settings.ts";
import { collect } from "./options.ts";

/** Flags as commander hands them over (all optional: settings.ts resolves defaults and precedence). */
export interface CommonFlags {
  home?: string;
  hub?: string;
  config?: string;
  lang?: string;
  receipts?: string;
  errors?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  progress: boolean;
  ignoreColumn: string[];
}

export interface Ctx extends Settings {
  json: boolean;
  quiet: boolean;
  errors: string | undefined;
  out: string | undefined;
  ignoreColumns: string[];
  onProgress: (stage: string, done: number, total: number) => void;
  /** Prints the result: JSON with --json, otherwise the text lines unless --quiet. */
  emit(json: unknown, text: () => string): void;
}

/** The options every member command takes. */
export function common(cmd: Command, what: { receipts?: boolean; errors?: boolean } = {}): Command {
  cmd
    .option("--home <dir>", "member node directory (env RELINK_HOME; default .relink/member)")
    .option("--hub <url>", "the hub's URL (env RELINK_HUB; default: the one given to `relink init`)")
    .option("--config <file>", "settings file (env RELINK_CONFIG; default ~/.config/relink/config.json)")
    .option("--json", "print the result as one JSON object on stdout")
    .option("--quiet", "print nothing on success except what --json asks for; errors still go to stderr")
    .option("--no-progress", "no progress output");
  if (what.errors !== false)
    cmd
      .option("--errors <file>", "write rejected rows (row, field, reason, message) to this CSV")
      .option("--ignore-column <name>", "a CSV column to skip on purpose (repeatable)", collect, [])
      .option("--lang <en|zh>", "column names of written CSVs: en (default) or zh (env RELINK_LANG)");
  if (what.receipts !== false)
    cmd.option(
      "--receipts <dir>",
      "save the audit receipts as JSON files here (created if needed; env RELINK_RECEIPTS)",
    );
  return cmd;
}

/** Resolves settings and checks every output location before any work is done. */
export function context(flags: CommonFlags): Ctx {
  const s = resolveSettings(flags);
  if (s.receipts) prepareDir(s.receipts, "--receipts");
  if (flags.errors) checkOutputFile(flags.errors, "--errors");
  if (flags.out) checkOutputFile(flags.out, "--out");
  const json = flags.json === true;
  const quiet = flags.quiet === true;
  return {
    ...s,
    json,
    quiet,
    errors: flags.errors,
    out: flags.out,
    ignoreColumns: flags.ignoreColumn ?? [],
    onProgress: progressReporter(flags.progress !== false && !quiet),
    emit(result, text) {
      if (json) console.log(JSON.stringify(result));
      else if (!quiet) console.log(text());
    },
  };
}

/** Reads an input CSV for a command; the CSV layer's rejected rows come back as upload errors. */
export function readInput(file: string, spec: TableSpec, ctx: Ctx): CsvTable {
  return readTable(file, spec, ctx.ignoreColumns);
}

/** Lists rejected cells on stderr (and in --errors); exit code 3 marks "done, some rows were rejected". */
export function reportRejected(errors: readonly UploadError[], ctx: Pick<Ctx, "errors" | "lang">): void {
  if (errors.length === 0) return;
  const sorted = [...errors].sort((a, b) => a.row - b.row);
  for (const e of sorted.slice(0, 50)) console.error(`row ${e.row}, ${e.field}: ${e.reason}: ${e.message}`);
  if (sorted.length > 50) console.error(`… and ${sorted.length - 50} more rejected cells`);
  if (ctx.errors)
    writeCsv(
      ctx.errors,
      ["row", "field", "reason", "message"],
      sorted.map((e) => ({ ...e })),
      ctx.lang,
    );
  process.exitCode = EXIT.partial;
}

/** Saves receipts as `<name>-<n>.json` in the receipts directory (checked writable up front). */
export function saveReceipts(dir: string | undefined, name: string, receipts: readonly unknown[]): string[] {
  if (!dir) return [];
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return receipts.map((r, i) => {
    const path = join(dir, `${name}-${stamp}-${i + 1}.json`);
    writeFileSync(path, `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
    return path;
  });
}

/** Verifies every receipt against the pinned log key; returns a one-line summary. */
export function checkReceipts(receipts: unknown[], logKey: string | undefined): string {
  if (!logKey) return `${receipts.length} receipt(s) (no log key pinned: not verified)`;
  let ok = 0;
  for (const r of receipts) {
    const v = verifyReceipt(r, { logKey, witnesses: [], k: 0 });
    if (v.ok) ok++;
    else console.error(`receipt REJECTED: ${v.reason}: ${v.message}`);
  }
  if (ok !== receipts.length) process.exitCode = EXIT.failure;
  return `${ok}/${receipts.length} receipt(s) verified`;
}

export function purposeOption(value: string): Purpose {
  if (!(PURPOSES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`one of ${PURPOSES.join(", ")}`);
  }
  return value as Purpose;
}

/** Remembers the hub URL so that a connection failure names it. */
export function hubUrlOf(ctx: Pick<Ctx, "hub">, recorded: string): string {
  const url = ctx.hub ?? recorded;
  talkingTo(url);
  return url;
}

/** Runs an action, turning any error into one clear line on stderr and its exit code. */
export function run<A extends unknown[]>(f: (...args: A) => Promise<void> | void) {
  return async (...args: A) => {
    try {
      await f(...args);
    } catch (error) {
      console.error(`relink: ${describeError(error)}`);
      if (process.env["RELINK_DEBUG"] && error instanceof Error) console.error(error.stack);
      process.exitCode = exitCodeOf(error);
    }
  };
}

export type { Lang };
