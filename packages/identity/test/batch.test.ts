import { describe, expect, it } from "vitest";
import { parseRows, type RowSpec } from "../src/index.ts";

const NOW = new Date("2026-11-26T04:00:00Z");

const SPEC: RowSpec = {
  身份证号: "cn-id",
  手机: "phone",
  邮箱: { kind: "email", optional: true },
  姓名: { kind: "name-dob", dobColumn: "出生日期" },
};

describe("parseRows", () => {
  it("keeps good rows, reports every bad cell with its 1-based row number (header = row 1)", () => {
    const rows = [
      {
        身份证号: "11010519491231002x",
        手机: "138 0013 8000",
        邮箱: "",
        姓名: "张 三",
        出生日期: "1949/12/31",
      },
      {
        身份证号: "440304199001011234",
        手机: "1380013800",
        邮箱: "a@@b.com",
        姓名: "李四",
        出生日期: "1990-02-30",
      },
      {
        身份证号: "440304900101123",
        手机: "+852 9123 4567",
        邮箱: "Li@Example.com",
        姓名: "李四",
        出生日期: "19900101",
      },
      { 身份证号: "", 手机: "13800138000", 姓名: "王五", 出生日期: "1990-01-01" },
    ];
    const result = parseRows(rows, SPEC, { now: NOW });

    expect(result.rows.map((r) => r.row)).toEqual([2, 4]);
    expect(result.rows[0]!.identifiers).toEqual({
      身份证号: expect.objectContaining({ canonical: "cn-id:11010519491231002X" }),
      手机: expect.objectContaining({ canonical: "phone:+8613800138000" }),
      姓名: expect.objectContaining({ canonical: "name-dob:张三|1949-12-31" }),
    });
    expect(Object.keys(result.rows[0]!.identifiers)).not.toContain("邮箱");
    expect(result.rows[1]!.identifiers["邮箱"]?.canonical).toBe("email:li@example.com");
    expect(result.rows[1]!.identifiers["身份证号"]?.canonical).toBe("cn-id:440304199001011233");

    expect(result.errors.map(({ row, field, reason }) => ({ row, field, reason }))).toEqual([
      { row: 3, field: "身份证号", reason: "check-digit" },
      { row: 3, field: "手机", reason: "invalid-number" },
      { row: 3, field: "邮箱", reason: "multiple-at" },
      { row: 3, field: "出生日期", reason: "date-invalid" },
      { row: 5, field: "身份证号", reason: "empty" },
    ]);
    for (const e of result.errors) expect(e.message).toEqual(expect.any(String));
  });

  it("reports non-text cells instead of guessing", () => {
    const result = parseRows([{ 手机: 13800138000 }, { 手机: null }], { 手机: "phone" }, { now: NOW });
    expect(result.rows).toEqual([]);
    expect(result.errors.map(({ row, reason }) => ({ row, reason }))).toEqual([
      { row: 2, reason: "not-a-string" },
      { row: 3, reason: "empty" },
    ]);
  });

  it("skips an optional name-dob pair only when both cells are blank", () => {
    const spec: RowSpec = { name: { kind: "name-dob", dobColumn: "dob", optional: true }, phone: "phone" };
    const result = parseRows([{ phone: "13800138000" }, { phone: "13800138000", name: "张三" }], spec, {
      now: NOW,
    });
    expect(result.rows).toEqual([
      { row: 2, identifiers: { phone: expect.objectContaining({ kind: "phone" }) } },
    ]);
    expect(result.errors).toMatchObject([{ row: 3, field: "dob", reason: "empty" }]);
  });

  it("numbers rows from firstRowNumber and passes defaultRegion on", () => {
    const result = parseRows(
      [{ tel: "07400 123456" }, { tel: "x" }],
      { tel: "phone" },
      {
        now: NOW,
        defaultRegion: "GB",
        firstRowNumber: 1001,
      },
    );
    expect(result.rows).toMatchObject([
      { row: 1001, identifiers: { tel: { canonical: "phone:+447400123456" } } },
    ]);
    expect(result.errors).toMatchObject([{ row: 1002, field: "tel", reason: "invalid-character" }]);
  });

  it("throws on a malformed spec", () => {
    expect(() => parseRows([], {}, { now: NOW })).toThrow(TypeError);
    // @ts-expect-error unknown kind
    expect(() => parseRows([], { a: "passport" }, { now: NOW })).toThrow(TypeError);
    // @ts-expect-error name-dob without dobColumn
    expect(() => parseRows([], { a: { kind: "name-dob" } }, { now: NOW })).toThrow(TypeError);
  });
});
