import { describe, expect, it } from "vitest";
import { contactConfidence } from "../src/node.ts";
import { normaliseContact, parseConsentRows, parseContactRows, parseDebtorRows } from "../src/rows.ts";

const now = new Date("2026-11-26T08:00:00Z");
const person = { id_number: "11010519491231002X", name: "张三", dob: "1949-12-31" };

describe("contact rows", () => {
  it("keys a contact by every subject identifier and normalises its value", () => {
    const { rows, errors } = parseContactRows(
      [
        {
          ...person,
          subject_phone: "",
          kind: "phone",
          value: "+86 138-0013-8000",
          first_seen: "2024-01-02",
          last_seen: "2026-10-01",
          source_type: "transaction",
          confidence: "80",
        },
      ],
      now,
    );
    expect(errors).toEqual([]);
    expect(rows[0]?.subjects.sort()).toEqual(["cn-id:11010519491231002X", "name-dob:张三|1949-12-31"]);
    expect(rows[0]?.contact).toEqual({
      kind: "phone",
      value: "+8613800138000",
      firstSeen: "2024-01-02",
      lastSeen: "2026-10-01",
      sourceType: "transaction",
      confidence: 80,
    });
  });

  it("reports every bad cell with row and field and keeps the good rows", () => {
    const good = {
      ...person,
      kind: "email",
      value: " Zhang.San@QQ.com ",
      first_seen: "2025-01-01",
      last_seen: "2025-02-01",
    };
    const { rows, errors } = parseContactRows(
      [
        good,
        { ...good, id_number: "110105194912310021" }, // wrong check digit
        { ...good, kind: "fax" },
        { ...good, kind: "phone", value: "12345" },
        { ...good, first_seen: "2025-13-01", last_seen: "2024-01-01" },
        { ...good, last_seen: "2027-01-01" },
        { ...good, confidence: "101", source_type: "rumour" },
        { kind: "address", value: "北京市朝阳区", first_seen: "2025-01-01", last_seen: "2025-01-02" },
      ],
      now,
    );
    expect(rows.map((r) => r.row)).toEqual([2]);
    expect(rows[0]?.contact.value).toBe("zhang.san@qq.com");
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [3, "id_number"],
      [4, "kind"],
      [5, "value"],
      [6, "first_seen"],
      [7, "last_seen"],
      [8, "source_type"],
      [8, "confidence"],
      [9, "id_number"],
    ]);
    expect(errors.every((e) => e.message.length > 0 && !e.message.includes("110105194912310021"))).toBe(true);
  });

  it("folds free-text addresses and refuses empty ones", () => {
    expect(normaliseContact("address", " 北京市　朝阳区  建国路８８号 ")).toEqual({
      ok: true,
      value: "北京市 朝阳区 建国路88号",
    });
    expect(normaliseContact("employer", "   ").ok).toBe(false);
  });
});

describe("debtor and consent rows", () => {
  it("needs a debtor reference and at least one identifier", () => {
    const { rows, errors } = parseDebtorRows(
      [
        { debtor_ref: "C-1", ...person },
        { debtor_ref: "", ...person },
        { debtor_ref: "C-3" },
        { debtor_ref: "C-4", subject_phone: "138 0013 8000" },
      ],
      now,
    );
    expect(rows.map((r) => [r.ref, r.subjects.length])).toEqual([
      ["C-1", 2],
      ["C-4", 1],
    ]);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [3, "debtor_ref"],
      [4, "id_number"],
    ]);
  });

  it("validates purpose, basis, categories, dates and evidence hash", () => {
    const ok = {
      debtor_ref: "C-1",
      ...person,
      purpose: "debt_collection",
      legal_basis: "contract_performance",
      categories: "contact;employment",
      granted_at: "2026-01-01",
      expires_at: "2027-01-01",
      evidence_sha256: "a".repeat(64),
    };
    const { rows, errors } = parseConsentRows(
      [
        ok,
        { ...ok, purpose: "marketing" },
        { ...ok, expires_at: "2025-01-01" },
        { ...ok, evidence_sha256: "xyz" },
        { ...ok, categories: "dna" },
      ],
      now,
    );
    expect(rows.map((r) => r.row)).toEqual([2]);
    expect(rows[0]?.dataCategories).toEqual(["contact", "employment"]);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [3, "purpose"],
      [4, "expires_at"],
      [5, "evidence_sha256"],
      [6, "categories"],
    ]);
  });
});

it("scores confidence by recency and corroboration", () => {
  expect(contactConfidence(80, 1, "2026-11-01", now)).toBe(80);
  expect(contactConfidence(80, 3, "2026-11-01", now)).toBe(100);
  expect(contactConfidence(80, 1, "2024-11-26", now)).toBe(40);
  expect(contactConfidence(80, 1, "2015-01-01", now)).toBe(40);
});
