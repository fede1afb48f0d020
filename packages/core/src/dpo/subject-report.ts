/**
 * Subject access report (PIPL Art. 45; ADR 0041): every ledger entry touching a data subject.
 *
 * The DPO brings the subject's tags (computed through the key holders: metered there, never by the hub)
 * and the subject's request reference. The hub links leaves only then, and only within the DPO's scope (a
 * member DPO: its member's leaves; the network DPO: every member's): for each member in scope it derives the
 * (member, subject) link key (ADR 0040), tests each indexed leaf of that member with one HMAC, checks every
 * hit against the leaf bytes, and returns per entry the receipt, the link key and where in the leaf the
 * subject's commitment sits — so a reader verifies each entry offline (`verifySubjectReport` in sdk) and can
 * test no other subject. The search is itself a leaf (`dpo.subject_report`) with the request committed.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type Consent,
  consentsForTag,
  getAuditLeaf,
  listAuditSubjects,
  listMembers,
  type Member,
} from "@relink/db";
import {
  lengthPrefixed,
  RelinkError,
  SUBJECT_REPORT_FORMAT,
  type SubjectReport,
  type SubjectReportEntry,
  toHex,
} from "@relink/protocol";
import {
  type AuditEvent,
  decodeAuditEvent,
  findCommitment,
  hashLeaf,
  inclusionProof,
  keyedCommitment,
  leafFields,
  MemoryTree,
  subjectTagsRoot,
  utc8,
} from "@relink/tlog";
import type { CoreDeps } from "../context.ts";
import { type DpoPrincipal, scopeOf } from "./access.ts";

const PAGE = 2000;

/** An instant as China Standard Time, e.g. `2026-12-03 15:04:05 UTC+8` (the report and replay format). */
export const formatUtc8 = utc8;

/** SHA-256 over a DPO's free-text reference, as the report's leaf carries it (never the text). */
export function dpoReferenceCommitment(kind: string, reference: string): Uint8Array {
  return sha256(lengthPrefixed("relink/v1/dpo-reference", kind, reference));
}

export interface LinkedLeaf {
  index: bigint;
  event: AuditEvent;
  tagIndex: number;
  linkKey: Uint8Array;
  position: number;
  batchPath?: Uint8Array[];
}

function consentIdHex(id: string): string {
  return id.replaceAll("-", "").toLowerCase();
}

/**
 * Finds the leaves in scope that commit to one of `tags`; each hit is checked against the leaf itself
 * (nonce, member, and the commitment inline or under the batch root), so a wrong index row is an error,
 * never a wrong entry.
 */
export async function linkSubjectLeaves(
  deps: CoreDeps,
  memberId: string | undefined,
  tags: readonly Uint8Array[],
): Promise<LinkedLeaf[]> {
  const linkKeys = new Map<string, Uint8Array[]>();
  const keysFor = (m: string | null) => {
    const k = m ?? "";
    let keys = linkKeys.get(k);
    if (!keys) {
      keys = tags.map((t) => deps.audit.linkKey(m, t));
      linkKeys.set(k, keys);
    }
    return keys;
  };
  const out: LinkedLeaf[] = [];
  for (let from = 0n; ; ) {
    const rows = await listAuditSubjects(deps.db, {
      from,
      limit: PAGE,
      ...(memberId !== undefined ? { memberId } : {}),
    });
    for (const row of rows) {
      const keys = keysFor(row.memberId);
      for (const [tagIndex, linkKey] of keys.entries()) {
        const c = keyedCommitment(linkKey, row.nonce);
        const position = findCommitment(row.commitments, c);
        if (position < 0) continue;
        const leaf = await getAuditLeaf(deps.db, row.index);
        const event = leaf && decodeAuditEvent(leaf.leaf);
        const mismatch = (what: string) =>
          new RelinkError("CONFLICT", `audit subject index disagrees with leaf ${row.index}: ${what}`);
        if (!event) throw mismatch("no such leaf");
        if (event.subjectNonce !== toHex(row.nonce)) throw mismatch("nonce");
        if ((event.member ?? null) !== row.memberId) throw mismatch("member");
        const packed: Uint8Array[] = [];
        for (let at = 0; at < row.commitments.length; at += 32)
          packed.push(row.commitments.slice(at, at + 32));
        let batchPath: Uint8Array[] | undefined;
        if (event.subjectTagCommitments) {
          if (event.subjectTagCommitments[position] !== toHex(c)) throw mismatch("commitment");
        } else {
          const root = subjectTagsRoot(packed);
          if (root.root !== event.subjectTagsRoot?.root || root.count !== event.subjectTagsRoot.count)
            throw mismatch("batch root");
          const tree = new MemoryTree();
          for (const p of packed) tree.append(hashLeaf(p));
          batchPath = await inclusionProof(BigInt(position), BigInt(packed.length), tree.read);
        }
        out.push({
          index: row.index,
          event,
          tagIndex,
          linkKey,
          position,
          ...(batchPath ? { batchPath } : {}),
        });
      }
    }
    if (rows.length < PAGE) return out;
    from = rows[rows.length - 1]!.index + 1n;
  }
}

/** The member's consents for the subject that the leaf relied on or changed (see `listed`). */
function consentsOfEntry(
  event: AuditEvent,
  subjectConsents: readonly Consent[],
): SubjectReportEntry["consents"] {
  const inline = new Set(event.consentRefs ?? []);
  const byRoot = event.consentRefsRoot !== undefined;
  const out: SubjectReportEntry["consents"] = [];
  for (const c of subjectConsents) {
    let listed: "leaf" | "root" | undefined;
    if (inline.has(consentIdHex(c.id))) listed = "leaf";
    else if (byRoot) {
      // A batch of more than 64 references: the leaf commits to them by a root. A consent the event
      // registered or revoked carries the event's time; one a lookup relied on covered it at that time.
      const t = event.time;
      const changedHere = c.registeredAt.getTime() === t || c.revokedAt?.getTime() === t;
      const covering =
        c.purpose === event.purpose &&
        c.grantedAt.getTime() <= t &&
        c.expiresAt.getTime() > t &&
        c.registeredAt.getTime() <= t &&
        (c.revokedAt === null || c.revokedAt.getTime() > t);
      if (changedHere || covering) listed = "root";
    }
    if (listed) out.push(consentView(c, listed));
  }
  return out;
}

export function consentView(c: Consent, listed: "leaf" | "root"): SubjectReportEntry["consents"][number] {
  return {
    id: c.id,
    reference: c.reference,
    purpose: c.purpose,
    legalBasis: c.legalBasis,
    grantedAt: c.grantedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    registeredAt: c.registeredAt.toISOString(),
    revokedAt: c.revokedAt?.toISOString() ?? null,
    listed,
  };
}

export function memberView(m: Member | undefined) {
  return m ? { id: m.id, slug: m.slug, displayName: m.displayName } : null;
}

/** Fields of a report entry that are read off the leaf: tlog's `leafFields`, which the verifier checks. */
export function entryFields(index: bigint, e: AuditEvent) {
  return leafFields(Number(index), e);
}

export async function subjectAccessReport(
  deps: CoreDeps,
  who: DpoPrincipal,
  input: { tags: Uint8Array[]; requestReference: string },
): Promise<SubjectReport> {
  const scope = scopeOf(who);
  const linked = await linkSubjectLeaves(deps, scope, input.tags);
  const members = new Map((await listMembers(deps.db)).map((m) => [m.id, m]));
  const consentCache = new Map<string, Consent[]>();
  const consentsOf = async (memberId: string, tagIndex: number) => {
    const key = `${memberId}/${tagIndex}`;
    let list = consentCache.get(key);
    if (!list) {
      list = await consentsForTag(deps.db, memberId, input.tags[tagIndex]!);
      consentCache.set(key, list);
    }
    return list;
  };
  linked.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : a.tagIndex - b.tagIndex));
  const entries: SubjectReportEntry[] = [];
  for (const l of linked) {
    const e = l.event;
    entries.push({
      ...entryFields(l.index, e),
      member: e.member ? memberView(members.get(e.member)) : null,
      consents: e.member ? consentsOfEntry(e, await consentsOf(e.member, l.tagIndex)) : [],
      subject: {
        tagIndex: l.tagIndex,
        linkKey: toHex(l.linkKey),
        position: l.position,
        ...(l.batchPath ? { batchPath: l.batchPath.map(toHex) } : {}),
      },
      receipt: await deps.audit.receipt({ index: l.index }),
    });
  }
  const at = deps.clock();
  const ref = await deps.audit.append(
    deps.db,
    {
      type: "dpo.subject_report",
      memberId: who.scope === "member" ? who.member.id : null,
      purpose: "subject_access",
      legalBasis: "pipl-45",
      caseCommitment: dpoReferenceCommitment("subject-request", input.requestReference),
      subjectTags: input.tags,
      inputSize: input.tags.length,
      outputCount: entries.length,
      decision: { allowed: true, rules: [`dpo.subject_report.${who.scope}`] },
      requestHash: who.requestHash,
    },
    at,
  );
  deps.log.info("dpo.subject_report", {
    scope: who.scope,
    member: who.scope === "member" ? who.member.slug : undefined,
    entries: entries.length,
  });
  return {
    format: SUBJECT_REPORT_FORMAT,
    generatedAt: at.toISOString(),
    scope: who.scope === "member" ? { kind: "member", slug: who.member.slug } : { kind: "network" },
    requestReference: input.requestReference,
    tags: input.tags.length,
    entries,
    reportReceipt: await deps.audit.receipt(ref),
  };
}
