"use client";
/**
 * The member's case register in this browser (localStorage), as `cases.jsonl` is in the CLI's member home:
 * the commitment the audit log carries for a case (hex, as in audit leaves) → the case id typed on the match
 * page. The hub only ever sees the commitment; the DPO page resolves it here for the subject report.
 */
import { fromBase64Url, toHex } from "@relink/protocol";

const KEY = "relink-cases";

export function caseRegister(): Map<string, string> {
  try {
    return new Map(Object.entries(JSON.parse(localStorage.getItem(KEY) ?? "{}") as Record<string, string>));
  } catch {
    return new Map();
  }
}

/** Records a case id with its commitment (base64url, as the worker returns it). */
export function recordCase(caseId: string, commitment: string): void {
  const all = Object.fromEntries(caseRegister());
  all[toHex(fromBase64Url(commitment))] = caseId;
  localStorage.setItem(KEY, JSON.stringify(all));
}
