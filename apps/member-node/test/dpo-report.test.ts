/**
 * The subject access report's CSV goes through the SDK's Excel-safe writer: a hostile case reference or
 * member name is neutralised (OWASP CSV injection) and read back exactly by the SDK's reader; indices and
 * counts stay numbers; the file starts with a UTF-8 BOM for Excel.
 */
import { SUBJECT_REPORT_FORMAT, type SubjectReport, type SubjectReportEntry } from "@relink/protocol";
import { readCsvTable } from "@relink/sdk";
import { describe, expect, it } from "vitest";
import { reportCsv, reportRows } from "../src/dpo-report.ts";

const entry = (over: Partial<SubjectReportEntry>): SubjectReportEntry => ({
  index: 12,
  event: "lookup",
  time: "2026-12-03T02:00:00Z",
  timeUtc8: "2026-12-03 10:00:00",
  member: { id: "m-1", slug: "east-bank", displayName: "East Bank" },
  purpose: "debt_collection",
  legalBasis: "consent",
  caseCommitment: "c1",
  decision: "allow",
  decisionReason: null,
  rules: [],
  inputSize: 3,
  outputCount: 1,
  consents: [],
  subject: { tagIndex: 0, linkKey: "k", position: 0 },
  receipt: {},
  ...over,
});

const report = (entries: SubjectReportEntry[]): SubjectReport => ({
  format: SUBJECT_REPORT_FORMAT,
  generatedAt: "2026-12-03T02:00:00Z",
  scope: { kind: "network" },
  requestReference: "DPO-1",
  tags: 1,
  entries,
  reportReceipt: {},
});

describe("the subject access report's CSV", () => {
  const hostile = '=HYPERLINK("http://x.invalid","click")';
  const rows = reportRows(
    report([
      entry({ member: { id: "m-1", slug: "east-bank", displayName: "@SUM(A1)" } }),
      entry({ index: 13, inputSize: null, outputCount: null, member: null, caseCommitment: "c2" }),
    ]),
    new Map([
      ["c1", hostile],
      ["c2", "007"],
    ]),
    true,
  );
  const csv = reportCsv(rows);

  it("starts with a BOM and writes indices and counts as numbers", () => {
    expect(csv.startsWith("\ufeffleaf_index,time_utc8,event,")).toBe(true);
    const lines = csv.slice(1).split("\r\n");
    expect(lines[1]!.startsWith("12,2026-12-03 10:00:00,lookup,east-bank,")).toBe(true);
    expect(lines[1]!.endsWith(",allow,,3,1,yes")).toBe(true);
    expect(lines[2]!.startsWith("13,")).toBe(true);
    expect(lines[2]!.endsWith(",allow,,,,yes")).toBe(true);
  });

  it("neutralises formula cells and keeps digit strings text, and the SDK's reader gives back the exact text", () => {
    expect(csv).not.toMatch(/(^|,)"?[=@]/m);
    // A case reference of digits stays text in Excel (no lost leading zeros).
    expect(csv).toContain(",'007,");
    const spec = {
      columns: {
        case_reference: { aliases: [], required: true },
        member_name: { aliases: [], required: true },
      },
    };
    const table = readCsvTable(new TextEncoder().encode(csv), spec, {
      ignoreColumns: Object.keys(rows[0]!).filter((k) => k !== "case_reference" && k !== "member_name"),
    });
    expect(table.errors).toEqual([]);
    expect(table.records[0]).toMatchObject({ case_reference: hostile, member_name: "@SUM(A1)" });
    expect(table.records[1]).toMatchObject({ case_reference: "007" });
  });
});
