/**
 * Directory publication: batches of (tag, sealed label) upserts and deletions. A batch is idempotent by
 * its id (same member and same signed content → "replayed", nothing changes; a different content under a
 * used id → CONFLICT) and transactional: it is applied whole, with its audit leaf, or not at all.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { deleteRecords, findBatch, insertBatch, purgeRecordsLastSeenBefore, upsertRecords } from "@relink/db";
import { bytesEqual, fromBase64Url, type PublishBatchInput, RelinkError } from "@relink/protocol";
import type { AuthenticatedMember } from "./auth.ts";
import type { CoreDeps } from "./context.ts";
import { deny, requireActive, utcDay } from "./denials.ts";

export interface PublishResult {
  batchId: string;
  replayed: boolean;
  upserted: number;
  deleted: number;
  /** Receipt for the publication leaf; null when the batch was a replay (its receipt was issued then). */
  receipt: unknown;
}

/** SHA-256 of the batch as parsed (schema key order): the same id with other content is a conflict. */
export function batchContentHash(batch: PublishBatchInput): Uint8Array {
  return sha256(new TextEncoder().encode(JSON.stringify(batch)));
}

export async function publishBatch(
  deps: CoreDeps,
  who: AuthenticatedMember,
  batch: PublishBatchInput,
): Promise<PublishResult> {
  await requireActive(deps, who);
  const contentHash = batchContentHash(batch);
  if (batch.epoch !== deps.policy.epoch) {
    await deny(
      deps,
      who,
      new RelinkError("WRONG_EPOCH", `batch epoch ${batch.epoch}, network epoch ${deps.policy.epoch}`),
      {
        rule: "directory.epoch",
        inputSize: batch.upserts.length + batch.deletions.length,
      },
    );
  }
  // One record once per batch: the database cannot upsert a row twice in one statement. And no sighting
  // after tomorrow (UTC): a future last-seen day would dodge retention and sort first in every result.
  const latestDay = utcDay(new Date(deps.clock().getTime() + 86_400_000));
  const seen = new Set<string>();
  for (const [i, u] of batch.upserts.entries()) {
    if (u.lastSeenOn > latestDay) {
      throw new RelinkError("BAD_INPUT", `upsert ${i + 1}: lastSeenOn is in the future`, {
        row: i + 1,
        field: `upserts.${i}.lastSeenOn`,
      });
    }
    const key = `${u.tag}/${u.recordId}`;
    if (seen.has(key)) {
      throw new RelinkError("BAD_INPUT", `upsert ${i + 1} repeats a record of this batch`, {
        row: i + 1,
        field: `upserts.${i}.recordId`,
      });
    }
    seen.add(key);
  }
  const existing = await findBatch(deps.db, batch.batchId);
  if (existing) {
    if (existing.memberId === who.member.id && bytesEqual(existing.requestHash, contentHash)) {
      return {
        batchId: batch.batchId,
        replayed: true,
        upserted: existing.upserted,
        deleted: existing.deleted,
        receipt: null,
      };
    }
    throw new RelinkError("CONFLICT", `batch ${batch.batchId} was already applied with other content`);
  }
  const at = deps.clock();
  const rows = batch.upserts.map((u) => ({
    publisherId: who.member.id,
    tag: fromBase64Url(u.tag),
    recordId: fromBase64Url(u.recordId),
    epoch: batch.epoch,
    kind: u.kind,
    labelVersion: u.labelVersion,
    valueDigest: fromBase64Url(u.valueDigest),
    lastSeenOn: u.lastSeenOn,
    sealed: fromBase64Url(u.sealed),
  }));
  const deletions = batch.deletions.map((d) => ({
    tag: fromBase64Url(d.tag),
    recordId: d.recordId === undefined ? undefined : fromBase64Url(d.recordId),
  }));
  const applied = await deps.db.transaction().execute(async (trx) => {
    await insertBatch(
      trx,
      {
        id: batch.batchId,
        memberId: who.member.id,
        epoch: batch.epoch,
        upserted: rows.length,
        deleted: 0,
        requestHash: contentHash,
      },
      at,
    );
    const upserted = await upsertRecords(trx, batch.batchId, rows, at);
    const deleted = await deleteRecords(trx, who.member.id, deletions);
    await trx.updateTable("publication_batch").set({ deleted }).where("id", "=", batch.batchId).execute();
    const audit = await deps.audit.append(
      trx,
      {
        type: "directory.published",
        memberId: who.member.id,
        subjectTags: [...rows.map((r) => r.tag), ...deletions.map((d) => d.tag)],
        inputSize: rows.length + deletions.length,
        outputCount: upserted + deleted,
        decision: { allowed: true, rules: ["directory.publish"] },
        requestHash: who.requestHash,
        responseHash: contentHash,
      },
      at,
    );
    return { upserted, deleted, audit };
  });
  const receipt = await deps.audit.receipt(applied.audit);
  return {
    batchId: batch.batchId,
    replayed: false,
    upserted: applied.upserted,
    deleted: applied.deleted,
    receipt,
  };
}

/** A data subject's erasure request at this member: every record of the member under the tags. */
export async function eraseSubjects(
  deps: CoreDeps,
  who: AuthenticatedMember,
  tags: Uint8Array[],
): Promise<{ deleted: number; receipt: unknown }> {
  await requireActive(deps, who);
  const at = deps.clock();
  const done = await deps.db.transaction().execute(async (trx) => {
    const deleted = await deleteRecords(
      trx,
      who.member.id,
      tags.map((tag) => ({ tag })),
    );
    const audit = await deps.audit.append(
      trx,
      {
        type: "directory.erased",
        memberId: who.member.id,
        subjectTags: tags,
        inputSize: tags.length,
        outputCount: deleted,
        decision: { allowed: true, rules: ["directory.erase"] },
        requestHash: who.requestHash,
      },
      at,
    );
    return { deleted, audit };
  });
  return { deleted: done.deleted, receipt: await deps.audit.receipt(done.audit) };
}

/** Retention: purge records not seen for `policy.retentionDays`. Run by the hub's scheduler. */
export async function purgeExpiredRecords(deps: CoreDeps): Promise<number> {
  const now = deps.clock();
  const cutoff = utcDay(new Date(now.getTime() - deps.policy.retentionDays * 86_400_000));
  return deps.db.transaction().execute(async (trx) => {
    const purged = await purgeRecordsLastSeenBefore(trx, cutoff);
    if (purged > 0) {
      await deps.audit.append(
        trx,
        {
          type: "directory.purged",
          memberId: null,
          inputSize: 0,
          outputCount: purged,
          decision: { allowed: true, rules: [`retention.${deps.policy.retentionDays}d`] },
        },
        now,
      );
    }
    deps.log.info("directory.purged", { purged, cutoff });
    return purged;
  });
}
