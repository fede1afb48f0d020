/**
 * The pure CSV reader and writer: encodings as Chinese institutions' tools write them, header aliases and
 * typos, hostile rows (malformed quotes, NUL, RTL overrides, formula cells, a 10^5-row file), and output
 * that Excel cannot evaluate, read back exactly.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CONSENT_TABLE,
  CONTACT_TABLE,
  DEBTOR_TABLE,
  EXPOSURE_BOOK_TABLE,
  exposureSubjectsTable,
  outColumns,
} from "../src/columns.ts";
import { CsvError, decodeCsv, formatCell, formatCsv, readCsvTable } from "../src/csv.ts";
import { parseConsentRows, parseContactRows, parseDebtorRows } from "../src/rows.ts";
import { gbk, utf16le } from "../src/testing.ts";

const ID = "11010519491231002X";
const PERSONAL = [ID, "张三", "13800138000"];

const utf8 = (t: string) => new TextEncoder().encode(t);
function csvError(f: () => unknown): CsvError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CsvError);
    const e = error as CsvError;
    for (const p of PERSONAL) expect(e.message).not.toContain(p);
    return e;
  }
  throw new Error("expected a CsvError");
}

const CN = `参考号,身份证号,姓名,出生日期\r\nD1,${ID},张三,1949-12-31\r\n`;

describe("encodings", () => {
  it("reads GBK (Excel on Chinese Windows), UTF-8 with and without BOM, and UTF-16LE with BOM", () => {
    const variants: [Uint8Array, string][] = [
      [gbk(CN), "gb18030"],
      [utf8(CN), "utf-8"],
      [new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(CN)]), "utf-8-bom"],
      [utf16le(CN.replaceAll(",", "\t")), "utf-16le-bom"],
    ];
    for (const [bytes, encoding] of variants) {
      const t = readCsvTable(bytes, DEBTOR_TABLE);
      expect(t.encoding).toBe(encoding);
      expect(t.columns).toEqual(["debtor_ref", "id_number", "name", "dob"]);
      expect(t.records).toEqual([{ debtor_ref: "D1", id_number: ID, name: "张三", dob: "1949-12-31" }]);
    }
    // The decoder is strict (fatal): the GBK bytes of 张三 are not valid UTF-8.
    expect(decodeCsv(gbk("张三")).encoding).toBe("gb18030");
  });

  it("refuses, naming the encoding, what it cannot read faithfully", () => {
    expect(csvError(() => decodeCsv(new Uint8Array([0xfe, 0xff, 0x00, 0x41]))).message).toMatch(
      /UTF-16 big-endian/,
    );
    expect(csvError(() => decodeCsv(utf16le("id_number\n1", false))).message).toMatch(
      /UTF-16 without a byte-order mark/,
    );
    expect(csvError(() => decodeCsv(new Uint8Array([0xff, 0xfe, 0x00, 0x00]))).message).toMatch(/UTF-32/);
    // 0x80 and 0xFF are lead bytes in neither UTF-8 nor GB18030.
    const e = csvError(() => decodeCsv(new Uint8Array([0x61, 0x80, 0x2c, 0xff, 0x0a])));
    expect(e.code).toBe("encoding");
    expect(e.message).toMatch(/neither UTF-8 nor GB18030/);
    expect(csvError(() => decodeCsv(new Uint8Array([0xef, 0xbb, 0xbf, 0xd5, 0xc5]))).message).toMatch(
      /UTF-8 byte-order mark but is not valid UTF-8/,
    );
  });
});

describe("headers", () => {
  it("accepts Chinese and English spellings, folded", () => {
    const t = readCsvTable("证件号码,手机号码,参考号\n" + `${ID},13800138000,D1\n`, DEBTOR_TABLE);
    expect(t.columns).toEqual(["id_number", "subject_phone", "debtor_ref"]);
    expect(readCsvTable(`Debtor Ref,ID-Number\nD1,${ID}\n`, DEBTOR_TABLE).columns).toEqual([
      "debtor_ref",
      "id_number",
    ]);
    const c = readCsvTable(
      "身份证号,地址,邮箱,工作单位,首次出现,最近出现\n" +
        `${ID},北京市,a@b.cn,某公司,2025-01-01,2025-02-01\n`,
      CONTACT_TABLE,
    );
    expect(c.columns).toEqual(["id_number", "address", "email", "employer", "first_seen", "last_seen"]);
  });

  it("never drops a misspelt column: suggests the closest known one", () => {
    const e = csvError(() => readCsvTable(`debtor_ref,id_nubmer\nD1,${ID}\n`, DEBTOR_TABLE));
    expect(e.code).toBe("header");
    expect(e.message).toMatch(/column B: unknown column "id_nubmer" — did you mean "id_number"\?/);
    expect(e.message).toMatch(/missing identifier columns/);
    const zh = csvError(() => readCsvTable(`参考号,身分证号\nD1,${ID}\n`, DEBTOR_TABLE));
    expect(zh.message).toMatch(/unknown column "身分证号" — did you mean "id_number" \("身份证号"\)\?/);
    // An extra column is refused unless the caller says to skip it.
    expect(
      csvError(() => readCsvTable(`debtor_ref,id_number,备注\nD1,${ID},x\n`, DEBTOR_TABLE)).message,
    ).toMatch(/unknown column "备注"/);
    expect(
      readCsvTable(`debtor_ref,id_number,备注\nD1,${ID},x\n`, DEBTOR_TABLE, { ignoreColumns: ["备注"] })
        .records,
    ).toEqual([{ debtor_ref: "D1", id_number: ID }]);
  });

  it("names missing and duplicated columns, and never echoes a header that looks like data", () => {
    expect(csvError(() => readCsvTable(`id_number\n${ID}\n`, DEBTOR_TABLE)).message).toMatch(
      /missing column "debtor_ref" \(参考号\)/,
    );
    expect(csvError(() => readCsvTable(`debtor_ref,name\nD1,张三\n`, DEBTOR_TABLE)).message).toMatch(
      /column "name" \(姓名\) needs column "dob" \(出生日期\) too/,
    );
    expect(
      csvError(() => readCsvTable(`debtor_ref,身份证号,id_number\nD1,${ID},${ID}\n`, DEBTOR_TABLE)).message,
    ).toMatch(/columns B and C both mean "id_number"/);
    // No header row: the first row is personal data and must not appear in the message.
    const e = csvError(() => readCsvTable(`D1,${ID},张三\nD2,${ID},李四\n`, DEBTOR_TABLE));
    expect(e.message).toMatch(/looks like data, not column names/);
  });

  it("an empty or header-only file is an error; rows of empty cells are skipped, rows keep their numbers", () => {
    expect(csvError(() => readCsvTable(new Uint8Array(), DEBTOR_TABLE)).code).toBe("empty-file");
    expect(csvError(() => readCsvTable("\ufeff\r\n", DEBTOR_TABLE)).code).toBe("empty-file");
    expect(csvError(() => readCsvTable("debtor_ref,id_number\r\n,\r\n\r\n", DEBTOR_TABLE)).code).toBe(
      "header-only",
    );
    const t = readCsvTable(`debtor_ref,id_number\n,\n\nD3,${ID}\n , \nD5,${ID}\n`, DEBTOR_TABLE);
    expect(t.rows).toEqual([4, 6]);
    expect(t.dataRows).toBe(2);
    // Those numbers reach the row parser's errors.
    const bad = readCsvTable(`debtor_ref,id_number\n\n\nD4,110105194912310021\n`, DEBTOR_TABLE);
    expect(parseDebtorRows(bad.records, new Date(), bad.rows).errors.map((x) => x.row)).toEqual([4]);
  });
});

describe("hostile rows", () => {
  it("a malformed quote refuses the file naming row and column, never the content", () => {
    const cases: [string, RegExp][] = [
      [`debtor_ref,id_number\nD1,${ID}\n"D2,${ID}\n`, /row 3, column A: a quoted cell is never closed/],
      [`debtor_ref,id_number\nD1,"${ID}"张三\n`, /row 2, column B: text after a closing quote/],
      [`debtor_ref,id_number\nD1,${ID}"张三"\n`, /row 2, column B: a quote inside an unquoted cell/],
      // A quoted line break stays in its row: the next row is still row 3.
      [`debtor_ref,id_number\n"D\n1",${ID}\nD2,"${ID}\n`, /row 3, column B: a quoted cell is never closed/],
    ];
    for (const [text, message] of cases) {
      const e = csvError(() => readCsvTable(text, DEBTOR_TABLE));
      expect(e.code).toBe("malformed-quote");
      expect(e.message).toMatch(message);
    }
  });

  it("rejects rows with the wrong cell count, NUL, control or RTL characters, and scientific-notation IDs", () => {
    const text = [
      "debtor_ref,id_number,name,dob",
      `D1,${ID},张三,1949-12-31`,
      `D2,${ID},张三,1949-12-31,extra`,
      `D3,${ID}`,
      `D4,${ID},张\u0000三,1949-12-31`,
      `D5,${ID},\u202e三张,1949-12-31`,
      `D6,${ID},张\u2066三,1949-12-31`,
      "D7,1.10105E+17,张三,1949-12-31",
      `"=HYPERLINK(""http://evil"")",${ID},张三,1949-12-31`,
      `D9,${ID},张三,1949-12-31,,`, // trailing empty cells (Excel) are tolerated
    ].join("\n");
    const t = readCsvTable(text, DEBTOR_TABLE);
    expect(t.errors.map((e) => [e.row, e.field, e.reason])).toEqual([
      [3, "row", "column-count"],
      [4, "row", "column-count"],
      [5, "name", "control-character"],
      [6, "name", "control-character"],
      [7, "name", "control-character"],
      [8, "id_number", "excel-scientific"],
    ]);
    expect(t.errors.find((e) => e.reason === "excel-scientific")?.message).toMatch(
      /format the column as Text/,
    );
    for (const e of t.errors) for (const p of PERSONAL) expect(e.message).not.toContain(p);
    // A formula cell is data on input (the writer neutralises it on output).
    expect(t.rows).toEqual([2, 9, 10]);
    expect(t.records[1]?.debtor_ref).toBe('=HYPERLINK("http://evil")');
  });

  it("reads a 10^5-row file", () => {
    const lines = ["debtor_ref,id_number"];
    for (let i = 0; i < 100_000; i++) lines.push(`D${i},${ID}`);
    const t = readCsvTable(utf8(lines.join("\r\n")), DEBTOR_TABLE);
    expect(t.records.length).toBe(100_000);
    expect(t.rows[99_999]).toBe(100_001);
    expect(() => readCsvTable(lines.join("\n"), DEBTOR_TABLE, { maxRows: 1000 })).toThrow(
      /more than 1000 rows/,
    );
  });
});

describe("Excel-safe output", () => {
  it("neutralises formula cells and keeps digit strings as text, with a UTF-8 BOM", () => {
    expect(formatCell("=1+2")).toBe("'=1+2");
    expect(formatCell("+8613800138000")).toBe("'+8613800138000");
    expect(formatCell("-3")).toBe("'-3");
    expect(formatCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(formatCell("\t=cmd")).toBe("'\t=cmd");
    expect(formatCell("\r=cmd")).toBe('"\'\r=cmd"');
    expect(formatCell("13800138000")).toBe("'13800138000");
    expect(formatCell("0012")).toBe("'0012");
    expect(formatCell(ID)).toBe(`'${ID}`);
    expect(formatCell(-3)).toBe("-3"); // numbers are numbers
    expect(formatCell("北京市\u202e朝阳区")).toBe("北京市\ufffd朝阳区");
    expect(formatCell('a,"b"')).toBe('"a,""b"""');
    const file = formatCsv(outColumns(["debtor_ref", "value"], "zh"), [{ debtor_ref: "D1", value: "=1" }]);
    expect(file.startsWith("\ufeff参考号,联系方式\r\n")).toBe(true);
    expect(file).toContain("D1,'=1\r\n");
  });

  it("round-trips: what the writer writes, the reader reads back exactly (both languages)", () => {
    const cell = fc
      .string({
        unit: fc.constantFrom(
          "a",
          "1",
          "0",
          "=",
          "+",
          "-",
          "@",
          ",",
          '"',
          "\n",
          " ",
          "张",
          "'",
          "\t",
          "X",
          ".",
          "e",
        ),
      })
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(cell, cell), { minLength: 1, maxLength: 20 }),
        fc.constantFrom("en", "zh"),
        (pairs, lang) => {
          const rows = pairs.map(([a, b]) => ({ debtor_ref: a, id_number: b }));
          const file = formatCsv(outColumns(["debtor_ref", "id_number"], lang as "en" | "zh"), rows);
          const back = readCsvTable(utf8(file), DEBTOR_TABLE);
          expect(back.errors).toEqual([]);
          expect(back.records).toEqual(rows);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a match-results file and an exposure book read back through their own specs", () => {
    const rows = [
      {
        id_number: ID,
        loan_id: "0001",
        status: "active",
        outstanding: 120,
        days_past_due: 0,
        opened_on: "2026-01-01",
      },
    ];
    const keys = ["id_number", "loan_id", "status", "outstanding", "days_past_due", "opened_on"];
    for (const lang of ["en", "zh"] as const) {
      const back = readCsvTable(utf8(formatCsv(outColumns(keys, lang), rows)), EXPOSURE_BOOK_TABLE);
      expect(back.records).toEqual([{ ...rows[0], outstanding: "120", days_past_due: "0" }]);
    }
    expect(readCsvTable(`申请编号,身份证号\nA1,${ID}\n`, exposureSubjectsTable()).records).toEqual([
      { applicant_ref: "A1", id_number: ID },
    ]);
    expect(readCsvTable(`case,id_number\nA1,${ID}\n`, exposureSubjectsTable("case")).records).toEqual([
      { case: "A1", id_number: ID },
    ]);
  });
});

describe("rows from Chinese files", () => {
  const now = new Date("2026-11-26T08:00:00Z");

  it("a wide contact book (地址, 邮箱, 工作单位 columns) yields one contact per filled cell", () => {
    const t = readCsvTable(
      gbk(
        "身份证号,姓名,出生日期,地址,邮箱,工作单位,新电话,首次出现,最近出现\r\n" +
          `${ID},张三,1949-12-31,北京市朝阳区,Zhang@QQ.com,,138 0013 8000,2025-01-01,2025-02-01\r\n`,
      ),
      CONTACT_TABLE,
    );
    const { rows, errors } = parseContactRows(t.records, now, t.rows);
    expect(errors).toEqual([]);
    expect(rows.map((r) => [r.row, r.contact.kind, r.contact.value])).toEqual([
      [2, "phone", "+8613800138000"],
      [2, "address", "北京市朝阳区"],
      [2, "email", "zhang@qq.com"],
    ]);
  });

  it("a consent file with Chinese headers; a repeated reference is rejected on its later row", () => {
    const ev = "ab".repeat(32);
    const t = readCsvTable(
      "参考号,身份证号,用途,法律依据,授权日期,到期日期,凭证哈希\n" +
        `C1,${ID},debt_collection,consent,2026-01-01,2027-01-01,${ev}\n` +
        `C1,${ID},debt_collection,consent,2026-01-01,2027-01-01,${ev}\n`,
      CONSENT_TABLE,
    );
    const { rows, errors } = parseConsentRows(t.records, now, t.rows);
    expect(rows.map((r) => r.ref)).toEqual(["C1"]);
    expect(errors.map((e) => [e.row, e.field, e.reason])).toEqual([[3, "debtor_ref", "duplicate"]]);
  });
});

it("the CSV modules stay usable in a browser: no node: imports, no Buffer", async () => {
  const { readFileSync } = await import("node:fs");
  for (const f of ["csv.ts", "columns.ts", "exposure-present.ts"]) {
    const src = readFileSync(new URL(`../src/${f}`, import.meta.url), "utf8");
    expect(src, f).not.toMatch(/from\s+["']node:|require\(|\bBuffer\b|\bprocess\./);
  }
});
