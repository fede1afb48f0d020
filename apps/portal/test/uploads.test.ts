/**
 * Uploaded files are read in the browser's worker exactly as the CLI reads them (web/uploads.ts over the
 * SDK's reader): a GBK file with Chinese headers — what Excel saves on Chinese Windows — gives the same rows
 * as the UTF-8 file with English headers, row problems are typed and numbered as a spreadsheet shows them,
 * and a file in an unsupported encoding is refused with the reader's code.
 */

import { parseDebtorRows } from "@relink/sdk/browser";
import { DEBTOR_TABLE } from "@relink/sdk/columns";
import { CsvError, readCsvTable } from "@relink/sdk/csv";
import { gbk } from "@relink/sdk/testing";
import { describe, expect, it } from "vitest";
import { readDebtors } from "../web/uploads.ts";

const NOW = new Date("2026-12-01T00:00:00Z");
// Valid resident IDs (GB 11643 check digits) and one with a wrong check digit.
const ROWS = [
  ["D-1", "11010519491231002X", "张三", "1949-12-31", "13800138000"],
  ["D-2", "110105194912310021", "李四", "1949-12-31", "13800138001"],
  ["D-3", "440308199001011234", "王五", "1990-01-01", "13912345678"],
];
const csv = (header: string[]) => `${[header, ...ROWS].map((r) => r.join(",")).join("\r\n")}\r\n`;
const EN = ["debtor_ref", "id_number", "name", "dob", "subject_phone"];
const ZH = ["参考号", "身份证号", "姓名", "出生日期", "手机号"];

describe("uploads read as the CLI reads them", () => {
  it("a GBK file with Chinese headers gives the rows of the UTF-8 file with English headers", () => {
    const bytes = gbk(csv(ZH));
    // The bytes really are GBK: not valid UTF-8.
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes)).toThrow();
    const fromGbk = readDebtors(bytes, NOW);
    const fromUtf8 = readDebtors(new TextEncoder().encode(csv(EN)), NOW);
    expect(fromGbk).toEqual(fromUtf8);
    expect(fromGbk.dataRows).toBe(3);
    expect(fromGbk.rows.map((r) => r.ref)).toContain("D-1");
    // The CLI's path (readCsvTable then the row parser) gives the same rows and errors.
    const t = readCsvTable(bytes, DEBTOR_TABLE);
    const cli = parseDebtorRows(t.records, NOW, t.rows);
    expect(fromGbk.rows).toEqual(cli.rows);
    expect(fromGbk.errors).toEqual([...t.errors, ...cli.errors].sort((a, b) => a.row - b.row));
  });

  it("row problems are typed, numbered as a spreadsheet shows them, and never quote the cell", () => {
    const { errors } = readDebtors(gbk(csv(ZH)), NOW);
    const bad = errors.find((e) => e.field === "id_number");
    expect(bad).toMatchObject({ row: 3, field: "id_number", reason: "check-digit" });
    expect(JSON.stringify(errors)).not.toContain("110105194912310021");
  });

  it("refuses an unsupported encoding and an unknown header with the reader's typed error", () => {
    const utf16be = new Uint8Array([0xfe, 0xff, 0x00, 0x61]);
    expect(() => readDebtors(utf16be, NOW)).toThrow(CsvError);
    try {
      readDebtors(utf16be, NOW);
    } catch (e) {
      expect((e as CsvError).code).toBe("encoding");
    }
    const typo = new TextEncoder().encode("debtor_ref,id_numbr\r\nD-1,11010519491231002X\r\n");
    expect(() => readDebtors(typo, NOW)).toThrow(/id_number/);
  });
});
