/**
 * Consent replay (ADR 0041): "was this query covered at query time?", answered for any past query from the
 * log and the consent registry. The leaf gives the member, purpose, time and the keyed commitments of the
 * queried subjects; every consent record of that member whose subject is among them (found with the
 * member's link keys, ADR 0040) is judged in the version in force at the leaf's time (an update keeps the
 * superseded version, migration 20261203T0100) and as of that time — registered by then, granted, not expired,
 * not revoked by then, same purpose, right data category. Revoking later does not undo coverage; a consent
 * registered later never covers. Where the leaf lists the consents the hub relied on (inline), the replay is
 * cross-checked against that list.
 */
import {
  type ConsentVersion,
  consentVersions,
  getAuditLeaf,
  getAuditSubjects,
  listConsents,
  listMembers,
} from "@relink/db";
import { type ConsentReplay, RelinkError, toHex } from "@relink/protocol";
import {
  type AuditEvent,
  decodeAuditEvent,
  findCommitment,
  hashLeaf,
  inclusionProof,
  keyedCommitment,
  MemoryTree,
} from "@relink/tlog";
import type { CoreDeps } from "../context.ts";
import { type DpoPrincipal, scopeOf } from "./access.ts";
import { formatUtc8, memberView } from "./subject-report.ts";

/** The data category a query needs consent for: contact lookups and (refused) lookups, or exposure. */
function categoryOf(event: AuditEvent): "contact" | "credit_exposure" | undefined {
  if (event.type === "lookup") return "contact";
  if (event.type === "exposure.query") return "credit_exposure";
  if (event.type === "denial") {
    return event.ruleIds?.some((r) => r.startsWith("exposure.")) ? "credit_exposure" : "contact";
  }
  return undefined;
}

export async function replayConsent(
  deps: CoreDeps,
  who: DpoPrincipal,
  index: bigint,
): Promise<ConsentReplay> {
  const row = await getAuditLeaf(deps.db, index);
  if (!row) throw new RelinkError("NOT_FOUND", `no leaf ${index}`);
  const event = decodeAuditEvent(row.leaf);
  const scope = scopeOf(who);
  if (scope !== undefined && event.member !== scope) {
    // Indistinguishable from a missing leaf: a member DPO learns nothing about other members' leaves.
    throw new RelinkError("NOT_FOUND", `no leaf ${index} of this member`);
  }
  const category = categoryOf(event);
  if (!category || !event.member || !event.purpose || !event.subjectNonce) {
    throw new RelinkError(
      "BAD_INPUT",
      `leaf ${index} is a ${event.type} event, not a query with keyed subjects (lookup or exposure.query)`,
      { field: "index" },
    );
  }
  const subjects = await getAuditSubjects(deps.db, index);
  if (!subjects || toHex(subjects.nonce) !== event.subjectNonce) {
    throw new RelinkError("CONFLICT", `audit subject index disagrees with leaf ${index}`);
  }
  const packed: Uint8Array[] = [];
  for (let at = 0; at < subjects.commitments.length; at += 32)
    packed.push(subjects.commitments.slice(at, at + 32));
  const tree = event.subjectTagsRoot ? new MemoryTree() : undefined;
  if (tree) for (const p of packed) tree.append(hashLeaf(p));
  const t = event.time;
  const inline = event.consentRefs ? new Set(event.consentRefs) : undefined;
  const out: ConsentReplay["consents"] = [];
  const coveredPositions = new Set<number>();
  const consents = await listConsents(deps.db, event.member);
  const superseded = new Map<string, ConsentVersion[]>();
  for (const v of await consentVersions(
    deps.db,
    consents.filter((c) => c.revision > 1).map((c) => c.id),
  )) {
    superseded.set(v.consentId, [...(superseded.get(v.consentId) ?? []), v]);
  }
  for (const c of consents) {
    // The version in force at the query's time: a consent updated later is judged as it was then.
    const older = superseded.get(c.id) ?? [];
    const versions = [
      ...older.map((v, i) => ({
        revision: v.revision,
        tag: v.tag,
        purpose: v.purpose,
        legalBasis: v.legalBasis,
        dataCategories: v.dataCategories,
        grantedAt: v.grantedAt,
        expiresAt: v.expiresAt,
        from: i === 0 ? c.registeredAt.getTime() : older[i - 1]!.supersededAt.getTime(),
        to: v.supersededAt.getTime(),
      })),
      {
        revision: c.revision,
        tag: c.tag,
        purpose: c.purpose as string,
        legalBasis: c.legalBasis as string,
        dataCategories: c.dataCategories as string[],
        grantedAt: c.grantedAt,
        expiresAt: c.expiresAt,
        from: older.length > 0 ? older[older.length - 1]!.supersededAt.getTime() : c.registeredAt.getTime(),
        to: Number.POSITIVE_INFINITY,
      },
    ];
    const v = versions.find((x) => x.from <= t && t < x.to) ?? versions[0]!;
    const linkKey = deps.audit.linkKey(event.member, v.tag);
    const position = findCommitment(subjects.commitments, keyedCommitment(linkKey, subjects.nonce));
    if (position < 0) continue;
    const reasons: string[] = [];
    if (c.registeredAt.getTime() > t) reasons.push("registered_after");
    if (v.grantedAt.getTime() > t) reasons.push("not_yet_granted");
    if (v.expiresAt.getTime() <= t) reasons.push("expired");
    if (c.revokedAt !== null && c.revokedAt.getTime() <= t) reasons.push("revoked_before");
    if (v.purpose !== event.purpose) reasons.push("other_purpose");
    if (!v.dataCategories.includes(category)) reasons.push("other_category");
    if (reasons.length === 0) coveredPositions.add(position);
    const batchPath = tree
      ? (await inclusionProof(BigInt(position), BigInt(packed.length), tree.read)).map(toHex)
      : undefined;
    out.push({
      position,
      consentId: c.id,
      reference: c.reference,
      revision: v.revision,
      purpose: v.purpose,
      legalBasis: v.legalBasis,
      grantedAt: v.grantedAt.toISOString(),
      expiresAt: v.expiresAt.toISOString(),
      registeredAt: c.registeredAt.toISOString(),
      revokedAt: c.revokedAt?.toISOString() ?? null,
      coveredAtQueryTime: reasons.length === 0,
      reasons,
      listedInLeaf: inline ? inline.has(c.id.replaceAll("-", "")) : null,
      subject: { linkKey: toHex(linkKey), ...(batchPath ? { batchPath } : {}) },
    });
  }
  out.sort((a, b) => a.position - b.position || a.registeredAt.localeCompare(b.registeredAt));
  // The leaf's own list (when inline) must name only consents the replay finds covering, and one for every
  // covered subject; a denial leaf lists none (it was refused before the consent check).
  let consistentWithLeaf: boolean | null = null;
  if (event.decision === "allow" && !event.consentRefsRoot) {
    const listed = inline ?? new Set<string>();
    const coveringIds = new Set(
      out.filter((c) => c.coveredAtQueryTime).map((c) => c.consentId.replaceAll("-", "")),
    );
    const positionsListed = new Set(
      out.filter((c) => listed.has(c.consentId.replaceAll("-", ""))).map((c) => c.position),
    );
    consistentWithLeaf =
      [...listed].every((id) => coveringIds.has(id)) &&
      [...coveredPositions].every((p) => positionsListed.has(p));
  }
  const member = (await listMembers(deps.db)).find((m) => m.id === event.member);
  return {
    index: Number(index),
    event: event.type,
    time: new Date(t).toISOString(),
    timeUtc8: formatUtc8(t),
    member: memberView(member),
    purpose: event.purpose,
    subjects: packed.length,
    covered: coveredPositions.size,
    consents: out,
    consistentWithLeaf,
    receipt: await deps.audit.receipt({ index }),
  };
}
