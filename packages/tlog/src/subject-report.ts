/**
 * Offline verification of a subject access report (`relink-subject-report/v1`, ADR 0041). Every entry must
 * stand on its own: its receipt verifies against the pinned log key (and witnesses), every field shown is
 * the one in the verified leaf, and the leaf commits to the subject (`verifySubjectEvidence`). One link key
 * per (member, subject) across the report, so entries cannot be borrowed from another subject's leaves
 * without contradicting the rest; with the member's commitment key (a member DPO has it) the link keys
 * themselves are recomputed from the subject's tags. The report's own audit leaf must verify too.
 * Pure, no Node imports; never throws on bad input: problems are listed, each naming the entry.
 */
import { toHex } from "./bytes.ts";
import type { AuditEvent } from "./leaf.ts";
import { type ReceiptTrust, verifyReceipt } from "./receipt.ts";
import { subjectLinkKey, verifySubjectEvidence } from "./subject.ts";

export interface SubjectReportTrust extends ReceiptTrust {
  /** The subject's tags in request order; needed to recompute link keys with `memberKey`. */
  tags?: readonly Uint8Array[];
  /** The member's commitment key (member DPOs): link keys of that member's entries are recomputed. */
  memberKey?: { memberId: string; key: Uint8Array };
}

export interface SubjectReportProblem {
  /** Leaf index of the entry, or "report" for the report as a whole. */
  entry: number | "report";
  reason: string;
}

/** An instant as China Standard Time (the format the report uses). */
export function utc8(ms: number): string {
  return `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace("T", " ")} UTC+8`;
}

/** The entry fields read off a leaf, as the hub must have written them (core's report writes exactly these). */
export function leafFields(index: number, e: AuditEvent) {
  return {
    index,
    event: e.type,
    time: new Date(e.time).toISOString(),
    timeUtc8: utc8(e.time),
    purpose: e.purpose ?? null,
    legalBasis: e.legalBasis ?? null,
    caseCommitment: e.caseCommitment ?? null,
    decision: e.decision ?? null,
    decisionReason: e.decisionReason ?? null,
    rules: e.ruleIds ?? [],
    inputSize: e.inputSize ?? null,
    outputCount: e.outputCount ?? null,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function verifySubjectReport(
  unverifiedReport: unknown,
  trust: SubjectReportTrust,
): { ok: true; entries: number } | { ok: false; problems: SubjectReportProblem[] } {
  const problems: SubjectReportProblem[] = [];
  const r = unverifiedReport as {
    format?: unknown;
    entries?: unknown;
    reportReceipt?: unknown;
  } | null;
  if (
    typeof r !== "object" ||
    r === null ||
    r.format !== "relink-subject-report/v1" ||
    !Array.isArray(r.entries)
  ) {
    return { ok: false, problems: [{ entry: "report", reason: "not a relink-subject-report/v1 document" }] };
  }
  const linkKeys = new Map<string, string>();
  for (const raw of r.entries as unknown[]) {
    const entry = raw as {
      index?: unknown;
      member?: { id?: unknown } | null;
      subject?: { tagIndex?: unknown; linkKey?: unknown; position?: unknown; batchPath?: unknown };
      receipt?: unknown;
    } & Record<string, unknown>;
    const at = typeof entry?.index === "number" ? entry.index : -1;
    const fail = (reason: string) => problems.push({ entry: at, reason });
    const v = verifyReceipt(entry?.receipt, trust);
    if (!v.ok) {
      fail(`receipt REJECTED: ${v.reason}: ${v.message}`);
      continue;
    }
    if (BigInt(at) !== v.index) {
      fail(`entry index ${at} but its receipt is for leaf ${v.index}`);
      continue;
    }
    const expected = leafFields(at, v.event);
    for (const [k, want] of Object.entries(expected)) {
      if (!same(entry[k], want))
        fail(`${k} differs from the leaf (${JSON.stringify(entry[k])} ≠ ${JSON.stringify(want)})`);
    }
    if ((entry.member?.id ?? undefined) !== v.event.member) fail("member differs from the leaf");
    const s = entry.subject;
    if (!s || typeof s.linkKey !== "string" || typeof s.tagIndex !== "number") {
      fail("no subject evidence");
      continue;
    }
    const ev = verifySubjectEvidence(v.event, {
      linkKey: s.linkKey,
      position: s.position as number,
      ...(s.batchPath !== undefined ? { batchPath: s.batchPath as string[] } : {}),
    });
    if (!ev.ok) fail(`subject evidence REJECTED: ${ev.reason}`);
    const pair = `${v.event.member ?? "network"}/${s.tagIndex}`;
    const seen = linkKeys.get(pair);
    if (seen !== undefined && seen !== s.linkKey) fail(`another link key for the same member and subject`);
    linkKeys.set(pair, s.linkKey);
    if (trust.memberKey && v.event.member === trust.memberKey.memberId) {
      const tag = trust.tags?.[s.tagIndex];
      if (!tag) fail(`tag ${s.tagIndex} not given`);
      else if (toHex(subjectLinkKey(trust.memberKey.key, tag)) !== s.linkKey)
        fail("link key is not the subject's under the member's commitment key");
    }
  }
  const rr = verifyReceipt(r.reportReceipt, trust);
  if (!rr.ok)
    problems.push({ entry: "report", reason: `report receipt REJECTED: ${rr.reason}: ${rr.message}` });
  else if (rr.event.type !== "dpo.subject_report")
    problems.push({ entry: "report", reason: `report receipt is a ${rr.event.type} leaf` });
  return problems.length === 0
    ? { ok: true, entries: (r.entries as unknown[]).length }
    : { ok: false, problems };
}
