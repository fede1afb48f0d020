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
import { describeError, EXIT, exitCodeOf, talkingTo, UserError, wireError } from "../errors.ts";
import { keepReceipts, readHome } from "../home.ts";
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

/**
 * The preamble of every upload command: read the CSV, parse its rows, report the rejected cells (exit code 3)
 * and refuse a file with no valid row (`no valid rows to <verb>`).
 */
export function readRows<R>(
  file: string,
  spec: TableSpec,
  parse: (
    records: CsvTable["records"],
    now: Date,
    rows: CsvTable["rows"],
  ) => { rows: R[]; errors: UploadError[] },
  ctx: Ctx,
  verb: string,
): { rows: R[]; table: CsvTable } {
  const table = readInput(file, spec, ctx);
  const { rows, errors } = parse(table.records, new Date(), table.rows);
  reportRejected([...table.errors, ...errors], ctx);
  if (rows.length === 0) throw new UserError(`${file}: no valid rows to ${verb}`);
  return { rows, table };
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

/**
 * Verifies every receipt against the pinned log key and the home's trusted witnesses (k of them), keeps the
 * verified ones in the member home (receipts/), and returns a one-line summary with the fewest witness
 * cosignatures any receipt carried.
 */
export function checkReceipts(receipts: unknown[], logKey: string | undefined, home?: string): string {
  if (!logKey) return `${receipts.length} receipt(s) (no log key pinned: not verified)`;
  const config = home ? readHome(home) : undefined;
  const witnesses = config?.witnessKeys ?? [];
  const k = config?.witnessK ?? 0;
  let ok = 0;
  let fewest: number | undefined;
  const verified: unknown[] = [];
  for (const r of receipts) {
    const v = verifyReceipt(r, { logKey, witnesses, k });
    if (v.ok) {
      ok++;
      verified.push(r);
      fewest = Math.min(fewest ?? Number.POSITIVE_INFINITY, v.cosignatures.length);
    } else console.error(`receipt REJECTED: ${v.reason}: ${v.message}`);
  }
  if (home && verified.length > 0) keepReceipts(home, verified);
  if (ok !== receipts.length) process.exitCode = EXIT.failure;
  const cosigned =
    witnesses.length > 0 && fewest !== undefined ? `, ≥ ${fewest} witness cosignature(s) each` : "";
  return `${ok}/${receipts.length} receipt(s) verified${cosigned}${home && ok > 0 ? " and kept" : ""}`;
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

/**
 * Whether the hub knows a staged key (an interrupted rotation, ADRs 0068 and 0037): `ask` is a read signed
 * with it. UNKNOWN_KEY means no; any other failure is passed on.
 */
export function hubKnowsKey(ask: () => Promise<unknown>): Promise<boolean> {
  return ask().then(
    () => true,
    (error: unknown) => {
      if (wireError(error)?.code === "UNKNOWN_KEY") return false;
      throw error;
    },
  );
}
