import { cnIdCheckCharacter } from "@relink/identity";
import { EXPOSURE_CAPS } from "@relink/protocol";
import { describe, expect, it } from "vitest";
import {
  daysBetween,
  exposureFigures,
  parseExposureBook,
  parseExposureSubjects,
} from "../src/exposure-book.ts";

const now = new Date("2026-11-26T08:00:00Z");
const asOf = "2026-11-26";
const cnId = (n: number) => {
  const first17 = `11010519800101${String(n).padStart(3, "0")}`;
  return first17 + cnIdCheckCharacter(first17);
};
const A = cnId(1);
const B = cnId(2);
let loanNo = 0;
const loan = (o: Partial<Record<string, string>>) => ({
  id_number: A,
  loan_id: `L${++loanNo}`,
  status: "active",
  outstanding: "1000",
  days_past_due: "0",
  opened_on: "2025-01-01",
  ...o,
});
const daysBefore = (d: number) =>
  new Date(Date.parse(`${asOf}T00:00:00Z`) - d * 86_400_000).toISOString().slice(0, 10);

describe("exposure book", () => {
  it("parses good rows into loans keyed by the canonical resident ID", () => {
    const { book, errors } = parseExposureBook(
      [
        loan({ outstanding: "1200.00", status: "Active" }),
        loan({ id_number: ` ${B.toLowerCase()} `, status: "closed", outstanding: "0" }),
      ],
      now,
    );
    expect(errors).toEqual([]);
    expect(book.subjects).toEqual([`cn-id:${A}`, `cn-id:${B}`]);
    expect(book.loans.map((l) => [l.row, l.status, l.outstanding])).toEqual([
      [2, "active", 1200],
      [3, "closed", 0],
    ]);
  });

  it("reports every bad cell with row, field and reason and keeps the good rows", () => {
    const records = [
      loan({ loan_id: "DUP" }), // row 2: good
      loan({ id_number: `${A.slice(0, 17)}${A[17] === "0" ? "1" : "0"}` }), // 3
      loan({ loan_id: "" }), // 4
      loan({ loan_id: "DUP" }), // 5: duplicate of row 2
      loan({ status: "open" }), // 6
      loan({ outstanding: "12.5" }), // 7
      loan({ outstanding: "-3" }), // 8
      loan({ outstanding: "1,000" }), // 9
      loan({ outstanding: "" }), // 10
      loan({ outstanding: "2000000000000" }), // 11
      loan({ days_past_due: "abc" }), // 12
      loan({ opened_on: "2026-02-30" }), // 13
      loan({ opened_on: "2026-11-27" }), // 14
      loan({ id_number: B, days_past_due: "1.0" }), // 15: good (whole)
    ];
    const { book, errors } = parseExposureBook(records, now);
    expect(errors.map((e) => [e.row, e.field, e.reason])).toEqual([
      [3, "id_number", "check-digit"],
      [4, "loan_id", "empty"],
      [5, "loan_id", "duplicate"],
      [6, "status", "invalid"],
      [7, "outstanding", "not-whole"],
      [8, "outstanding", "negative"],
      [9, "outstanding", "invalid"],
      [10, "outstanding", "empty"],
      [11, "outstanding", "too-large"],
      [12, "days_past_due", "invalid"],
      [13, "opened_on", "date-format"],
      [14, "opened_on", "date-future"],
    ]);
    expect(book.loans.map((l) => l.row)).toEqual([2, 15]);
    // Messages never echo the cell's content.
    for (const e of errors) expect(e.message).not.toContain("1,000");
  });

  it("caps each figure per subject", () => {
    const records = [
      ...Array.from({ length: 60 }, () => loan({ outstanding: "400000", opened_on: daysBefore(5) })),
      loan({ id_number: B, outstanding: "9999999" }),
    ];
    const { book, errors } = parseExposureBook(records, now);
    expect(errors).toEqual([]);
    const { figures, capped } = exposureFigures(book, asOf);
    expect(capped).toBe(1);
    expect(figures.get(`cn-id:${A}`)).toEqual({
      active_lenders: 1,
      outstanding: EXPOSURE_CAPS.outstanding,
      dpd_current: 50,
      dpd_1_29: 0,
      dpd_30_59: 0,
      dpd_60_89: 0,
      dpd_90_plus: 0,
      opened_30d: 50,
      opened_90d: 50,
    });
    expect(figures.get(`cn-id:${B}`)?.outstanding).toBe(9_999_999);
  });

  it("buckets days past due at 0 / 1 / 29 / 30 / 59 / 60 / 89 / 90 and counts active loans only", () => {
    const dpd = ["0", "1", "29", "30", "59", "60", "89", "90", "400"];
    const { book } = parseExposureBook(
      [
        ...dpd.map((d) => loan({ days_past_due: d, outstanding: "10" })),
        loan({ status: "closed", days_past_due: "120", outstanding: "5000" }),
      ],
      now,
    );
    expect(exposureFigures(book, asOf).figures.get(`cn-id:${A}`)).toEqual({
      active_lenders: 1,
      outstanding: 90,
      dpd_current: 1,
      dpd_1_29: 2,
      dpd_30_59: 2,
      dpd_60_89: 2,
      dpd_90_plus: 2,
      opened_30d: 0,
      opened_90d: 0,
    });
  });

  it("counts loans opened 0–29 / 0–89 days before the as-of day; later loans do not exist yet", () => {
    const ages = [0, 29, 30, 89, 90];
    const { book } = parseExposureBook(
      [
        ...ages.map((a) => loan({ status: "closed", opened_on: daysBefore(a) })),
        loan({ id_number: B, opened_on: asOf }),
      ],
      now,
    );
    const a = exposureFigures(book, asOf).figures.get(`cn-id:${A}`)!;
    expect([a.active_lenders, a.opened_30d, a.opened_90d]).toEqual([0, 2, 4]);
    // As of the day before, B's loan (opened on asOf) did not exist: B has no exposure at all.
    const yesterday = daysBefore(1);
    const b = exposureFigures(book, yesterday).figures.get(`cn-id:${B}`)!;
    expect(Object.values(b).every((v) => v === 0)).toBe(true);
    const a1 = exposureFigures(book, yesterday).figures.get(`cn-id:${A}`)!;
    // ages as of yesterday: −1 (not yet), 28, 29, 88, 89
    expect([a1.opened_30d, a1.opened_90d]).toEqual([2, 4]);
    expect(daysBetween("2024-02-28", "2024-03-01")).toBe(2); // leap year
    expect(() => exposureFigures(book, "2026-13-01")).toThrow(RangeError);
  });

  it("parses applicants with a reference column", () => {
    const { rows, errors } = parseExposureSubjects(
      [
        { id_number: A, applicant_ref: "APP-1" },
        { id_number: "123", applicant_ref: "APP-2" },
        { id_number: B, applicant_ref: "" },
        { id_number: B, case: "X" },
      ],
      now,
    );
    expect(rows).toEqual([{ row: 2, ref: "APP-1", subject: `cn-id:${A}` }]);
    expect(errors.map((e) => [e.row, e.field, e.reason])).toEqual([
      [3, "id_number", "length"],
      [4, "applicant_ref", "empty"],
      [5, "applicant_ref", "empty"],
    ]);
    const portfolio = parseExposureSubjects([{ id_number: B }], now, { requireRef: false });
    expect(portfolio.rows).toEqual([{ row: 2, ref: "", subject: `cn-id:${B}` }]);
    expect(
      parseExposureSubjects([{ id_number: B, case: "X" }], now, { refColumn: "case" }).rows[0]?.ref,
    ).toBe("X");
  });
});
