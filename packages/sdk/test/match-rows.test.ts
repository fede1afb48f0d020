/**
 * Match results under one set of names for the CLI's JSON and CSV and the portal's download (MATCH_COLUMNS):
 * a debtor without contacts is one row, each contact carries the conduct window (GB/T 45251).
 */
import { CONTACT_CONDUCT } from "@relink/protocol";
import { describe, expect, it } from "vitest";
import { MATCH_COLUMNS, matchRows } from "../src/columns.ts";
import type { DebtorMatch } from "../src/node.ts";

const results: DebtorMatch[] = [
  {
    ref: "D1",
    row: 2,
    status: "matched",
    contacts: [
      {
        kind: "phone",
        value: "+8613800138000",
        firstSeen: "2026-01-02",
        lastSeen: "2026-11-30",
        sourceType: "application",
        corroboration: 2,
        confidence: 88,
      },
    ],
  },
  { ref: "D2", row: 3, status: "no_consent", contacts: [] },
];

describe("matchRows", () => {
  it("names every field as MATCH_COLUMNS does and puts the no-contact window on each contact", () => {
    const { nested, flat } = matchRows(results, CONTACT_CONDUCT);
    const window = `${CONTACT_CONDUCT.noContactFrom}-${CONTACT_CONDUCT.noContactUntil} UTC${CONTACT_CONDUCT.utcOffset}`;
    expect(nested[0]!.contacts[0]!.no_contact_window).toBe(window);
    expect(nested[0]!.contacts[0]!.corroborating_members).toBe(2);
    expect(flat).toHaveLength(2);
    expect(Object.keys(flat[0]!).sort()).toEqual([...MATCH_COLUMNS].sort());
    expect(flat[1]).toEqual({ debtor_ref: "D2", status: "no_consent" });
  });

  it("follows the hub's conduct rules, not a constant", () => {
    const { nested } = matchRows(results, { ...CONTACT_CONDUCT, noContactFrom: "21:00" });
    expect(nested[0]!.contacts[0]!.no_contact_window.startsWith("21:00-")).toBe(true);
  });
});
