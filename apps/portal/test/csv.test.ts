/** The portal's CSV reader (RFC 4180) and its Excel-safe writer (CSV injection, OWASP). */
import { describe, expect, it } from "vitest";
import { CsvError, parseCsv, toExcelCsv } from "../web/csv.ts";

describe("parseCsv", () => {
  it("reads quoted fields, doubled quotes, CRLF, a BOM and a missing final newline", () => {
    const text = '\ufeffa,b\r\n"x, y","say ""hi"""\r\n"multi\nline",2';
    expect(parseCsv(text)).toEqual([
      { a: "x, y", b: 'say "hi"' },
      { a: "multi\nline", b: "2" },
    ]);
  });
  it("names the line of a malformed row", () => {
    expect(() => parseCsv("a,b\n1,2\n3\n")).toThrow(/line 3: 1 fields, the header has 2/);
    expect(() => parseCsv('a\n"open')).toThrow(CsvError);
    expect(() => parseCsv("")).toThrow(/header row is required/);
    expect(() => parseCsv("a,a\n1,2")).toThrow(/duplicate/);
  });
});

describe("toExcelCsv", () => {
  it("writes a BOM and CRLF, quotes every cell and defuses formula-like cells", () => {
    const out = toExcelCsv(
      ["v"],
      [['=HYPERLINK("x")'], ["+8613800138000"], ["-1"], ["@SUM(A1)"], ["plain"], [42]],
    );
    expect(out.startsWith("\ufeff")).toBe(true);
    expect(out.split("\r\n")).toEqual([
      '\ufeff"v"',
      `"'=HYPERLINK(""x"")"`,
      `"'+8613800138000"`,
      `"'-1"`,
      `"'@SUM(A1)"`,
      '"plain"',
      '"42"',
      "",
    ]);
  });
  it("round-trips through the reader", () => {
    const rows = [["a,b", 'q"q', "多行\n文本"]];
    expect(parseCsv(toExcelCsv(["x", "y", "z"], rows))).toEqual([{ x: "a,b", y: 'q"q', z: "多行\n文本" }]);
  });
});
