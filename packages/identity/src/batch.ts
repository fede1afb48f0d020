/**
 * Batch parsing of member uploads (CSV or spreadsheet rows already read into records).
 *
 * Row numbers are 1-based and count the header line as row 1, so the first record is row 2: the number a
 * member sees in the left margin of a spreadsheet, or the line number in a CSV file with one header line and
 * no embedded newlines. Pass `firstRowNumber` when records arrive in chunks or the file has no header.
 *
 * Every bad cell of every row is reported; a row with any bad cell is left out of `rows` whole (a
 * half-understood row would link identifiers that were never checked together); good rows are kept.
 */
import { type CnId, parseCnId } from "./cn-id.ts";
import { type Email, parseEmail } from "./email.ts";
import { type NameDob, parseNameDob } from "./name-dob.ts";
import { type CountryCode, type Phone, parsePhone } from "./phone.ts";
import type { IdentifierError, IdentifierKind, ParseResult } from "./result.ts";

/** Any parsed identifier. */
export type Identifier = CnId | Phone | Email | NameDob;

/** Kinds held in a single column. */
export type SingleColumnKind = Exclude<IdentifierKind, "name-dob">;

/**
 * What one column holds. A bare kind means required; `optional: true` lets the cell be blank.
 * For "name-dob" the spec key is the name column and `dobColumn` names the date-of-birth column.
 */
export type ColumnSpec =
  | SingleColumnKind
  | { kind: SingleColumnKind; optional?: boolean }
  | { kind: "name-dob"; dobColumn: string; optional?: boolean };

/** Column name → what it holds. Columns not named here are ignored. */
export type RowSpec = Readonly<Record<string, ColumnSpec>>;

export interface BatchOptions {
  /** The current instant, for birth-date plausibility. */
  now: Date;
  /** Region for phone numbers without a country code; default "CN". */
  defaultRegion?: CountryCode;
  /** Row number of `rows[0]`; default 2 (header line = row 1). */
  firstRowNumber?: number;
}

export interface ParsedRow {
  /** 1-based row number (header = row 1 by default). */
  row: number;
  /** Identifiers keyed by spec key (column name; the name column for name-dob). Blank optional cells are absent. */
  identifiers: Record<string, Identifier>;
}

export interface RowError extends IdentifierError {
  row: number;
}

export interface BatchResult {
  rows: ParsedRow[];
  errors: RowError[];
}

const SINGLE_KINDS: readonly string[] = ["cn-id", "phone", "email"];

type Cell = { blank: true } | { blank: false; text: string } | { blank: false; text: undefined };

function readCell(record: Readonly<Record<string, unknown>>, column: string): Cell {
  const v = Object.hasOwn(record, column) ? record[column] : undefined;
  if (v === undefined || v === null) return { blank: true };
  if (typeof v !== "string") return { blank: false, text: undefined };
  return v.trim() === "" ? { blank: true } : { blank: false, text: v };
}

function checkSpec(spec: RowSpec): void {
  const entries = Object.entries(spec);
  if (entries.length === 0) throw new TypeError("row spec names no columns");
  for (const [column, s] of entries) {
    const kind = typeof s === "string" ? s : s?.kind;
    if (kind === "name-dob") {
      const dobColumn = (s as { dobColumn?: unknown }).dobColumn;
      if (typeof dobColumn !== "string" || dobColumn === "") {
        throw new TypeError(`row spec for ${column}: name-dob needs a dobColumn`);
      }
    } else if (!SINGLE_KINDS.includes(kind as string)) {
      throw new TypeError(`row spec for ${column}: unknown identifier kind`);
    }
  }
}

/** Parses every row; reports each bad cell with its row number, field and reason; keeps the good rows. */
export function parseRows(
  rows: readonly Readonly<Record<string, unknown>>[],
  spec: RowSpec,
  options: BatchOptions,
): BatchResult {
  checkSpec(spec);
  const first = options.firstRowNumber ?? 2;
  const out: BatchResult = { rows: [], errors: [] };

  rows.forEach((record, index) => {
    const row = first + index;
    const identifiers: Record<string, Identifier> = {};
    const errors: RowError[] = [];
    const notText = (kind: IdentifierKind, field: string): void => {
      errors.push({
        row,
        kind,
        field,
        reason: "not-a-string",
        message: "cell is not text; read this column as text (numbers lose leading zeros and digits)",
      });
    };
    const take = (column: string, result: ParseResult<Identifier>): void => {
      if (result.ok) identifiers[column] = result.value;
      else errors.push({ row, ...result.error });
    };

    for (const [column, s] of Object.entries(spec)) {
      const optional = typeof s === "object" && s.optional === true;
      if (typeof s === "object" && s.kind === "name-dob") {
        const name = readCell(record, column);
        const dob = readCell(record, s.dobColumn);
        if (name.blank && dob.blank && optional) continue;
        if (!name.blank && name.text === undefined) notText("name-dob", column);
        if (!dob.blank && dob.text === undefined) notText("name-dob", s.dobColumn);
        if ((!name.blank && name.text === undefined) || (!dob.blank && dob.text === undefined)) continue;
        take(
          column,
          parseNameDob(name.blank ? "" : name.text, dob.blank ? "" : dob.text, {
            now: options.now,
            nameField: column,
            dobField: s.dobColumn,
          }),
        );
        continue;
      }
      const kind = (typeof s === "string" ? s : s.kind) as SingleColumnKind;
      const cell = readCell(record, column);
      if (cell.blank && optional) continue;
      if (!cell.blank && cell.text === undefined) {
        notText(kind, column);
        continue;
      }
      const text = cell.blank ? "" : cell.text;
      if (kind === "cn-id") take(column, parseCnId(text, { now: options.now, field: column }));
      else if (kind === "phone")
        take(column, parsePhone(text, { defaultRegion: options.defaultRegion, field: column }));
      else take(column, parseEmail(text, { field: column }));
    }

    if (errors.length === 0) out.rows.push({ row, identifiers });
    else out.errors.push(...errors);
  });
  return out;
}
