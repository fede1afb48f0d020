/**
 * The ledger slice behind a regulator export pack (PIPL Art. 54–56; ADR 0042): the leaves in the DPO's scope
 * with index in [from, to), each with its RFC 9162 inclusion proof against the signed, cosigned checkpoint
 * of size `to`; the earlier checkpoints within the slice with consistency proofs to it; the consent records
 * the leaves rely on; the members named. The member node packs this, with its PIPIA reference and a
 * verifier script, into an archive signed by the DPO's key (apps/member-node, `relink dpo export`). The
 * export is itself a leaf (`dpo.export`) whose case commitment binds the PIPIA reference.
 */
import {
  type Consent,
  consentsByIds,
  getAuditCheckpoint,
  latestAuditCheckpoint,
  listAuditCheckpoints,
  listAuditLeaves,
  listConsents,
  listMembers,
} from "@relink/db";
import { type ExportSlice, RelinkError, toHex } from "@relink/protocol";
import { base64Encode, decodeAuditEvent } from "@relink/tlog";
import { cosignedCheckpoint, proveConsistency, proveInclusion } from "../audit/audit-log.ts";
import type { CoreDeps } from "../context.ts";
import { type DpoPrincipal, scopeOf } from "./access.ts";
import { dpoReferenceCommitment } from "./subject-report.ts";

/** Most leaves one export carries; a larger range is refused (export it in parts). */
export const MAX_EXPORT_LEAVES = 20_000;
const MAX_HISTORY = 64;

const uuidOf = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

function consentOut(c: Consent): ExportSlice["consents"][number] {
  return {
    id: c.id,
    member: c.memberId,
    reference: c.reference,
    purpose: c.purpose,
    legalBasis: c.legalBasis,
    dataCategories: c.dataCategories,
    grantedAt: c.grantedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    registeredAt: c.registeredAt.toISOString(),
    revokedAt: c.revokedAt?.toISOString() ?? null,
    evidenceSha256: toHex(c.evidenceHash),
  };
}

export async function exportLedgerSlice(
  deps: CoreDeps,
  who: DpoPrincipal,
  input: { from: number; to?: number; pipiaReference: string },
): Promise<ExportSlice> {
  const cp =
    input.to === undefined
      ? await latestAuditCheckpoint(deps.db)
      : await getAuditCheckpoint(deps.db, BigInt(input.to));
  if (!cp) {
    throw new RelinkError(
      "BAD_INPUT",
      input.to === undefined ? "no checkpoint has been published yet" : `no checkpoint of size ${input.to}`,
      { field: "to" },
    );
  }
  const to = cp.size;
  const from = BigInt(input.from);
  if (from >= to)
    throw new RelinkError("BAD_INPUT", `from (${from}) must be below to (${to})`, { field: "from" });
  if (to - from > BigInt(MAX_EXPORT_LEAVES) * 10n) {
    throw new RelinkError("BAD_INPUT", "range too large: export it in parts", { field: "from" });
  }
  const scope = scopeOf(who);
  const leaves: ExportSlice["leaves"] = [];
  const inlineRefs = new Set<string>();
  const rootMembers = new Set<string>();
  const named = new Set<string>();
  for (let at = from; at < to; ) {
    const page = await listAuditLeaves(deps.db, at, 1000);
    if (page.length === 0) break;
    for (const row of page) {
      if (row.index >= to) break;
      const e = decodeAuditEvent(row.leaf);
      if (scope !== undefined && e.member !== scope) continue;
      if (leaves.length >= MAX_EXPORT_LEAVES) {
        throw new RelinkError("BAD_INPUT", `more than ${MAX_EXPORT_LEAVES} leaves: export in parts`, {
          field: "from",
        });
      }
      const proof = await proveInclusion(deps, row.index, to);
      leaves.push({
        index: Number(row.index),
        leaf: base64Encode(row.leaf),
        inclusionProof: proof.map(base64Encode),
      });
      if (e.member) named.add(e.member);
      for (const r of e.consentRefs ?? []) if (r.length === 32) inlineRefs.add(uuidOf(r));
      if (e.consentRefsRoot && e.member) rootMembers.add(e.member);
    }
    at = page[page.length - 1]!.index + 1n;
  }
  const consents = new Map<string, Consent>();
  for (const c of await consentsByIds(deps.db, [...inlineRefs])) consents.set(c.id, c);
  // Leaves that commit to their consent references by a root: every consent of those members registered
  // before the checkpoint, so the regulator can check coverage without the hub's word for the list.
  for (const m of rootMembers) {
    for (const c of await listConsents(deps.db, m)) if (c.registeredAt <= cp.createdAt) consents.set(c.id, c);
  }
  const history: ExportSlice["history"] = [];
  const earlier = (await listAuditCheckpoints(deps.db)).filter((c) => c.size > from && c.size < to);
  for (const c of earlier.slice(-MAX_HISTORY)) {
    history.push({
      checkpoint: await cosignedCheckpoint(deps.db, c),
      consistencyProof: (await proveConsistency(deps, c.size, to)).map(base64Encode),
    });
  }
  const members = (await listMembers(deps.db))
    .filter((m) => named.has(m.id))
    .map((m) => ({ id: m.id, slug: m.slug, displayName: m.displayName }));
  const ref = await deps.audit.append(
    deps.db,
    {
      type: "dpo.export",
      memberId: who.scope === "member" ? who.member.id : null,
      purpose: "regulator_export",
      legalBasis: "pipl-54",
      caseCommitment: dpoReferenceCommitment("pipia", input.pipiaReference),
      inputSize: Number(to - from),
      outputCount: leaves.length,
      decision: { allowed: true, rules: [`dpo.export.${who.scope}`] },
      requestHash: who.requestHash,
    },
    deps.clock(),
  );
  return {
    scope: who.scope === "member" ? { kind: "member", slug: who.member.slug } : { kind: "network" },
    from: Number(from),
    to: Number(to),
    checkpoint: await cosignedCheckpoint(deps.db, cp),
    history,
    leaves,
    consents: [...consents.values()].map(consentOut),
    members,
    exportReceipt: await deps.audit.receipt(ref),
  };
}
