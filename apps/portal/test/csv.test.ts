/** The portal's CSV reader (RFC 4180), and its downloads through the SDK's Excel-safe writer (OWASP CSV injection). */
import { formatCsv } from "@relink/sdk/csv";
import { describe, expect, it } from "vitest";
import { CsvError, parseCsv } from "../web/csv.ts";

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

describe("downloads (the SDK's Excel-safe writer, as the CLI writes them)", () => {
  it("writes a BOM and CRLF and defuses formula-like and number-like text (phones stay text)", () => {
    const out = formatCsv(
      [{ key: "v" }],
      ['=HYPERLINK("x")', "+8613800138000", "13800138000", "-1", "@SUM(A1)", "plain", 42].map((v) => ({ v })),
    );
    expect(out.split("\r\n")).toEqual([
      "\ufeffv",
      `"'=HYPERLINK(""x"")"`,
      "'+8613800138000",
      "'13800138000",
      "'-1",
      "'@SUM(A1)",
      "plain",
      "42",
      "",
    ]);
  });
  it("round-trips through the portal's reader", () => {
    const columns = ["x", "y", "z"].map((key) => ({ key }));
    const rows = [{ x: "a,b", y: 'q"q', z: "多行\n文本" }];
    expect(parseCsv(formatCsv(columns, rows))).toEqual(rows);
  });
});
