/**
 * CSV as member institutions produce and consume it — pure (no `node:` imports, no I/O), so the CLI and,
 * later, the portal's browser code share one reader and one writer.
 *
 * Reading (RFC 4180, "Common Format and MIME Type for CSV Files", with Excel's habits):
 *  - Encoding (WHATWG Encoding Standard decoders, `TextDecoder` with `fatal: true`, no dependency):
 *    UTF-8 with or without BOM; UTF-16LE with BOM (Excel's "Unicode text", usually tab-separated);
 *    otherwise GB18030 (a superset of GBK — Excel's default "CSV" on Chinese Windows). Anything else —
 *    UTF-16BE, UTF-32, UTF-16 without BOM, bytes valid in none of these — is refused with a message naming
 *    the encoding. A file that is valid UTF-8 is read as UTF-8 (GBK text is almost never valid UTF-8).
 *  - Delimiter: comma, or tab when the header line has tabs and no comma.
 *  - Rows are numbered as a spreadsheet shows them: the header is row 1, a quoted line break stays in its
 *    row, blank lines count. A row whose cells are all empty is skipped.
 *  - A malformed quote refuses the whole file (what follows it cannot be trusted) naming the row and
 *    column; a row with the wrong number of cells, a control or text-direction character (U+202E …), an
 *    over-long cell or an Excel scientific-notation number in an identifier column rejects that row only.
 *    No message ever contains a cell's content (cells are personal data).
 *  - Headers are matched to a table spec: canonical names and aliases (Chinese and English), folded
 *    (NFKC, case, spaces/underscores/hyphens). An unknown header is an error that suggests the closest
 *    known column (a typo never silently drops a column); a missing or duplicated column is an error.
 *
 * Writing: UTF-8 with BOM (Excel detects the encoding), CRLF, RFC 4180 quoting, and CSV-injection
 * neutralisation per OWASP ("CSV Injection"): a text cell starting with = + - @ tab or CR gets a leading
 * apostrophe, and so does a text cell that Excel would turn into a number (digit strings such as resident
 * IDs, phone numbers and references: Excel would drop leading zeros, the +, or the digits after the 15th).
 * The apostrophe is visible in Excel and marks the cell as text; this reader removes it again, so our own
 * files round-trip exactly. The alternatives were rejected: `="…"` is itself a formula, and a leading tab
 * is one of OWASP's trigger characters (Excel strips it and may then evaluate what follows).
 * Control and text-direction characters in written cells become U+FFFD, so a value cannot disguise itself.
 */

/** File-level problems: the file as a whole cannot be used. */
export type CsvErrorCode =
  | "empty-file"
  | "header-only"
  | "encoding"
  | "malformed-quote"
  | "header"
  | "too-many-rows";

export class CsvError extends Error {
  override readonly name = "CsvError";
  readonly code: CsvErrorCode;
  /** Row (header = 1) and column, when the problem has a place. */
  readonly row: number | undefined;
  readonly field: string | undefined;
  constructor(code: CsvErrorCode, message: string, where: { row?: number; field?: string } = {}) {
    super(message);
    this.code = code;
    this.row = where.row;
    this.field = where.field;
  }
}

/** A rejected row or cell: row (header = 1), canonical column (or "row"), stable reason code, explanation. */
export interface CsvRowError {
  row: number;
  field: string;
  reason: string;
  message: string;
}

export type CsvEncoding = "utf-8" | "utf-8-bom" | "utf-16le-bom" | "gb18030";

// -------------------------------------------------------------------------------------------- encoding

const startsWith = (b: Uint8Array, prefix: readonly number[]) => prefix.every((x, i) => b[i] === x);

function decodeWith(label: string, bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Decodes a CSV file's bytes; refuses, naming the encoding, what it cannot read faithfully. */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: CsvEncoding } {
  if (bytes.length === 0) throw new CsvError("empty-file", "the file is empty");
  if (startsWith(bytes, [0xff, 0xfe, 0x00, 0x00]) || startsWith(bytes, [0x00, 0x00, 0xfe, 0xff]))
    throw new CsvError("encoding", 'the file is UTF-32: save it as "CSV UTF-8" (CSV UTF-8（逗号分隔）)');
  if (startsWith(bytes, [0xfe, 0xff]))
    throw new CsvError(
      "encoding",
      'the file is UTF-16 big-endian: save it as "CSV UTF-8" (CSV UTF-8（逗号分隔）)',
    );
  if (startsWith(bytes, [0xff, 0xfe])) {
    const text = decodeWith("utf-16le", bytes.subarray(2));
    if (text === undefined)
      throw new CsvError(
        "encoding",
        "the file starts with a UTF-16LE byte-order mark but is not valid UTF-16LE",
      );
    return { text, encoding: "utf-16le-bom" };
  }
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) {
    const text = decodeWith("utf-8", bytes.subarray(3));
    if (text === undefined)
      throw new CsvError("encoding", "the file starts with a UTF-8 byte-order mark but is not valid UTF-8");
    return { text, encoding: "utf-8-bom" };
  }
  // UTF-16 without a BOM: every other byte of ASCII text is zero.
  const head = bytes.subarray(0, 4096);
  let zeros = 0;
  for (const b of head) if (b === 0) zeros++;
  if (zeros * 4 >= head.length)
    throw new CsvError(
      "encoding",
      'the file looks like UTF-16 without a byte-order mark: save it as "CSV UTF-8" (CSV UTF-8（逗号分隔）)',
    );
  const utf8 = decodeWith("utf-8", bytes);
  if (utf8 !== undefined) return { text: utf8, encoding: "utf-8" };
  const gb = decodeWith("gb18030", bytes);
  if (gb !== undefined) return { text: gb, encoding: "gb18030" };
  throw new CsvError(
    "encoding",
    'the file is neither UTF-8 nor GB18030/GBK (Big5 or another encoding?): save it as "CSV UTF-8" ' +
      "(CSV UTF-8（逗号分隔）)",
  );
}

// ---------------------------------------------------------------------------------------------- parsing

export interface CsvRecord {
  /** Row number as a spreadsheet shows it (header = 1). */
  row: number;
  cells: string[];
}

export interface ParseOptions {
  /** Refuse files with more data rows than this (default 1,000,000). */
  maxRows?: number;
}

/** Column letters as a spreadsheet names them (1 → A, 27 → AA). */
export function columnLetter(index1: number): string {
  let n = index1;
  let s = "";
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

/** Splits text into records (RFC 4180). Throws CsvError on a malformed quote; never echoes content. */
export function parseCsvText(
  text: string,
  options: ParseOptions = {},
): { delimiter: string; records: CsvRecord[] } {
  const maxRows = options.maxRows ?? 1_000_000;
  const firstLine = text.slice(0, Math.max(0, text.search(/[\r\n]/)) || text.length);
  const delimiter = firstLine.includes("\t") && !firstLine.includes(",") ? "\t" : ",";
  const records: CsvRecord[] = [];
  let row = 1;
  let cells: string[] = [];
  let cell = "";
  let i = 0;
  const n = text.length;
  const malformed = (what: string): never => {
    throw new CsvError(
      "malformed-quote",
      `row ${row}, column ${columnLetter(cells.length + 1)}: ${what} (the file is refused: fix the quoting, ` +
        "or export it again from the spreadsheet)",
      { row, field: columnLetter(cells.length + 1) },
    );
  };
  const endRecord = () => {
    cells.push(cell);
    records.push({ row, cells });
    if (records.length > maxRows + 1)
      throw new CsvError("too-many-rows", `more than ${maxRows} rows: split the file`);
    cells = [];
    cell = "";
    row++;
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '"' && cell === "") {
      // Quoted field: runs to the next quote that is not doubled.
      const startRow = row;
      let j = i + 1;
      let value = "";
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          row = startRow;
          return malformed("a quoted cell is never closed");
        }
        value += text.slice(j, q);
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        // Line breaks inside the quotes stay in this row; count them only to keep later numbering honest.
        j = q + 1;
        break;
      }
      const next = text[j];
      if (next !== undefined && next !== delimiter && next !== "\r" && next !== "\n")
        return malformed("text after a closing quote");
      cell = value;
      i = j;
      // An empty quoted cell ("") must still count as a cell; mark it so the quote check above is skipped.
      if (i >= n) break;
      continue;
    }
    if (c === delimiter) {
      cells.push(cell);
      cell = "";
      i++;
    } else if (c === "\r" || c === "\n") {
      endRecord();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else if (c === '"') {
      return malformed("a quote inside an unquoted cell");
    } else {
      // Copy the run of ordinary characters in one slice.
      let j = i + 1;
      while (j < n) {
        const d = text[j]!;
        if (d === delimiter || d === "\r" || d === "\n" || d === '"') break;
        j++;
      }
      cell += text.slice(i, j);
      i = j;
    }
  }
  if (cell !== "" || cells.length > 0) endRecord();
  return { delimiter, records };
}

// ------------------------------------------------------------------------------------------------ tables

export interface ColumnSpec {
  /** Other header spellings (Chinese, English); matched after folding. */
  aliases?: readonly string[];
  /** The file must have this column. */
  required?: boolean;
  /** Digit identifiers (resident ID, phone): an Excel scientific-notation cell gets a hint. */
  identifier?: boolean;
  /** Columns that must be present whenever this one is (e.g. name needs dob). */
  with?: readonly string[];
}

export interface TableSpec {
  columns: Readonly<Record<string, ColumnSpec>>;
  /** At least one of these column groups must be present in full (e.g. id_number, or name + dob). */
  oneOf?: readonly (readonly string[])[];
}

export interface TableOptions extends ParseOptions {
  /** Headers to ignore on purpose (matched after folding); any other unknown header is an error. */
  ignoreColumns?: readonly string[];
  /** Longest accepted cell, in characters (default 2,000). */
  maxCellChars?: number;
}

export interface CsvTable {
  encoding: CsvEncoding | "text";
  delimiter: string;
  /** Canonical columns present, in file order. */
  columns: string[];
  /** Accepted rows keyed by canonical column, and their spreadsheet row numbers (same order). */
  records: Record<string, string>[];
  rows: number[];
  /** Rows rejected by the CSV layer (cell count, control characters, scientific notation, over-long). */
  errors: CsvRowError[];
  /** Data rows in the file, blank ones excluded. */
  dataRows: number;
}

/** Header folding: NFKC, lower case, runs of space / underscore / hyphen / dot as one underscore. */
export function foldHeader(h: string): string {
  return h
    .replace(/\p{Cf}/gu, "")
    .normalize("NFKC")
    .trim()
    .toLowerCase()
    .replace(/[\s_\-.]+/gu, "_")
    .replace(/^_|_$/g, "");
}

/** Levenshtein distance (small strings only: header names). */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

/** A header that looks like personal data (the file probably has no header row): never echoed. */
const looksLikeData = (h: string) => /\d{5,}|@|^\+?\d[\d\s-]{6,}$/.test(h);

/** Control characters (except tab and line breaks) and bidirectional overrides/isolates/marks. */
const HOSTILE = /(?![\t\n\r])[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const HOSTILE_ALL = new RegExp(HOSTILE.source, "gu");
const SCIENTIFIC = /^[0-9](\.[0-9]+)?e\+?[0-9]+$/i;
/** Our writer's marker: an apostrophe before what Excel would evaluate or turn into a number. */
const NEUTRALISED = /^'(?=[=+\-@\t\r0-9'])/;

function resolveHeader(header: string[], spec: TableSpec, ignore: readonly string[]) {
  const known = new Map<string, string>();
  for (const [name, s] of Object.entries(spec.columns)) {
    known.set(foldHeader(name), name);
    for (const a of s.aliases ?? []) known.set(foldHeader(a), name);
  }
  const ignored = new Set(ignore.map(foldHeader));
  // No header row: the first row is data (personal data) — say so without echoing any of it.
  if (header.some(looksLikeData))
    throw new CsvError(
      "header",
      "the header row (row 1) is not usable: the first row looks like data, not column names — add a header row",
      { row: 1 },
    );
  const problems: string[] = [];
  const at = new Map<string, number>();
  const mapping: (string | undefined)[] = [];
  header.forEach((raw, i) => {
    const col = `column ${columnLetter(i + 1)}`;
    const folded = foldHeader(raw);
    if (folded === "" || ignored.has(folded)) {
      mapping.push(undefined);
      return;
    }
    const name = known.get(folded);
    if (name === undefined) {
      if (looksLikeData(raw)) {
        problems.push(`${col}: the first row looks like data, not column names — add a header row`);
      } else {
        let best: { name: string; d: number } | undefined;
        for (const [k, v] of known) {
          const d = editDistance(folded, k);
          if (!best || d < best.d) best = { name: k === foldHeader(v) ? `"${v}"` : `"${v}" ("${k}")`, d };
        }
        const close = best && best.d <= Math.max(2, Math.floor(folded.length / 3));
        problems.push(
          `${col}: unknown column "${raw.trim()}"` +
            (close ? ` — did you mean ${best!.name}?` : "") +
            " (use --ignore-column to skip a column on purpose)",
        );
      }
      mapping.push(undefined);
      return;
    }
    const seen = at.get(name);
    if (seen !== undefined)
      problems.push(`columns ${columnLetter(seen + 1)} and ${columnLetter(i + 1)} both mean "${name}"`);
    else at.set(name, i);
    mapping.push(name);
  });
  const present = new Set(at.keys());
  const describe = (name: string) => {
    const zh = spec.columns[name]?.aliases?.find((a) => /\p{Script=Han}/u.test(a));
    return zh ? `"${name}" (${zh})` : `"${name}"`;
  };
  for (const [name, s] of Object.entries(spec.columns)) {
    if (s.required && !present.has(name)) problems.push(`missing column ${describe(name)}`);
    if (present.has(name))
      for (const w of s.with ?? [])
        if (!present.has(w)) problems.push(`column ${describe(name)} needs column ${describe(w)} too`);
  }
  if (spec.oneOf && !spec.oneOf.some((g) => g.every((c) => present.has(c))))
    problems.push(
      `missing identifier columns: the file needs ${spec.oneOf.map((g) => g.map(describe).join(" + ")).join(", or ")}`,
    );
  if (problems.length > 0)
    throw new CsvError("header", `the header row (row 1) is not usable:\n  ${problems.join("\n  ")}`, {
      row: 1,
    });
  return mapping;
}

/** Reads a CSV file's bytes (or already-decoded text) into rows keyed by the spec's canonical columns. */
export function readCsvTable(
  input: Uint8Array | string,
  spec: TableSpec,
  options: TableOptions = {},
): CsvTable {
  const decoded = typeof input === "string" ? { text: input, encoding: "text" as const } : decodeCsv(input);
  const text = decoded.text.startsWith("\ufeff") ? decoded.text.slice(1) : decoded.text;
  if (text.trim() === "") throw new CsvError("empty-file", "the file is empty");
  const { delimiter, records } = parseCsvText(text, options);
  const [head, ...body] = records;
  const header = head!.cells;
  const data = body.filter((r) => r.cells.some((c) => c.trim() !== ""));
  const mapping = resolveHeader(header, spec, options.ignoreColumns ?? []);
  if (data.length === 0) throw new CsvError("header-only", "the file has a header row but no data rows");
  const maxCell = options.maxCellChars ?? 2000;
  const out: CsvTable = {
    encoding: decoded.encoding,
    delimiter,
    columns: mapping.filter((m): m is string => m !== undefined),
    records: [],
    rows: [],
    errors: [],
    dataRows: data.length,
  };
  for (const { row, cells } of data) {
    // Excel pads short rows with nothing at all; trailing empty cells beyond the header are tolerated.
    let count = cells.length;
    while (count > header.length && cells[count - 1]!.trim() === "") count--;
    if (count !== header.length) {
      out.errors.push({
        row,
        field: "row",
        reason: "column-count",
        message: `${count} cell(s) where the header has ${header.length}: a delimiter inside an unquoted cell?`,
      });
      continue;
    }
    const rec: Record<string, string> = {};
    const rowErrors: CsvRowError[] = [];
    for (let i = 0; i < header.length; i++) {
      const name = mapping[i];
      if (name === undefined) continue;
      const cell = cells[i]!.trim();
      // A cell marked as text (our apostrophe) was never a number in Excel: no scientific-notation hint.
      const markedText = NEUTRALISED.test(cell);
      let v = markedText ? cell.slice(1) : cell;
      if (v.length > maxCell) {
        rowErrors.push({
          row,
          field: name,
          reason: "too-long",
          message: `longer than ${maxCell} characters`,
        });
        continue;
      }
      if (HOSTILE.test(v)) {
        rowErrors.push({
          row,
          field: name,
          reason: "control-character",
          message: "contains a control or text-direction character (not shown); retype the cell",
        });
        continue;
      }
      if (spec.columns[name]?.identifier && !markedText && SCIENTIFIC.test(v)) {
        rowErrors.push({
          row,
          field: name,
          reason: "excel-scientific",
          message:
            "Excel turned this identifier into a number in scientific notation and lost digits: format the " +
            "column as Text (设置单元格格式 → 文本) and export it again from the source system",
        });
        continue;
      }
      v = v.trim();
      rec[name] = v;
    }
    if (rowErrors.length > 0) {
      out.errors.push(...rowErrors);
      continue;
    }
    out.records.push(rec);
    out.rows.push(row);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- writing

export interface OutColumn {
  key: string;
  /** Header text (default: the key). */
  header?: string;
}

/** Text that Excel would evaluate (OWASP: = + - @ tab CR) or turn into a number; or that starts with our marker. */
const FORMULA_START = /^[=+\-@\t\r']/;
const NUMBER_LIKE = /^[0-9][0-9.,]*([eE][+-]?[0-9]+)?%?$|^[0-9]+[xX]$/;

/** One cell, neutralised and quoted. Numbers (typeof number) are written as numbers. */
export function formatCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  let s: string;
  if (typeof value === "number" || typeof value === "bigint") {
    s = String(value);
  } else {
    s = String(value).replace(HOSTILE_ALL, "\ufffd");
    if (FORMULA_START.test(s) || NUMBER_LIKE.test(s)) s = `'${s}`;
  }
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A whole file: UTF-8 BOM (unless `bom: false`), header, CRLF line ends. */
export function formatCsv(
  columns: readonly OutColumn[],
  rows: readonly object[],
  options: { bom?: boolean } = {},
): string {
  const lines = [columns.map((c) => formatCell(c.header ?? c.key)).join(",")];
  for (const r of rows)
    lines.push(columns.map((c) => formatCell((r as Record<string, unknown>)[c.key])).join(","));
  return `${options.bom === false ? "" : "\ufeff"}${lines.join("\r\n")}\r\n`;
}
