/**
 * Lenders' side of exposure at the hub: the X25519 mask-agreement key (one active per member; a new one
 * revokes the old) and the registration of the subject tags a lender holds. Each change is an audit leaf
 * that commits to the tags, never stores them.
 */
import { x25519 } from "@noble/curves/ed25519.js";
import {
  countExposureSubjects,
  type Database,
  deleteExposureSubjects,
  insertMemberKey,
  listActiveKeys,
  lockMemberRow,
  revokeMemberKey,
  upsertExposureSubjects,
} from "@relink/db";
import { bytesEqual, fromBase64Url, keyFingerprint, RelinkError, toBase64Url, toHex } from "@relink/protocol";
import type { Transaction } from "kysely";
import type { AuthenticatedMember } from "../auth.ts";
import type { CoreDeps } from "../context.ts";
import { deny, requireActive } from "../denials.ts";
import { declaredBookCap } from "./book.ts";
import { LENDER_CAPABILITY } from "./policy.ts";

export async function requireLender(deps: CoreDeps, who: AuthenticatedMember, rule: string): Promise<void> {
  await requireActive(deps, who);
  if (!who.member.capabilities.includes(LENDER_CAPABILITY)) {
    await deny(
      deps,
      who,
      new RelinkError("FORBIDDEN", `member lacks the '${LENDER_CAPABILITY}' capability`),
      {
        rule,
      },
    );
  }
}

/** True for the X25519 points whose shared secret with any (clamped) scalar is zero (RFC 7748 §6.1). */
export function isLowOrderX25519(publicKey: Uint8Array): boolean {
  try {
    return x25519.getSharedSecret(x25519.utils.randomSecretKey(), publicKey).every((b) => b === 0);
  } catch {
    return true;
  }
}

/**
 * Registers the member's X25519 mask-agreement key (exposure-he.md §4). A lender without one cannot take
 * part in exposure rounds: its subjects do not count towards k and it gets no tasks.
 */
export async function registerMaskKey(
  deps: CoreDeps,
  who: AuthenticatedMember,
  publicKeyText: string,
): Promise<{ fingerprint: string; receipt: unknown }> {
  await requireLender(deps, who, "exposure.capability");
  const publicKey = fromBase64Url(publicKeyText);
  if (publicKey.length !== 32 || isLowOrderX25519(publicKey)) {
    await deny(deps, who, new RelinkError("BAD_INPUT", "mask key is not a usable X25519 public key"), {
      rule: "exposure.mask_key",
      inputSize: 1,
    });
  }
  const fingerprint = keyFingerprint("x25519", publicKey);
  const at = deps.clock();
  const audit = await deps.db.transaction().execute(async (trx) => {
    await lockMemberRow(trx, who.member.id);
    const active = await listActiveKeys(trx, who.member.id, "mask_agreement");
    const unchanged = active.length === 1 && bytesEqual(active[0]!.publicKey, publicKey);
    if (!unchanged) {
      for (const k of active) await revokeMemberKey(trx, k.id, at);
      await insertMemberKey(trx, {
        memberId: who.member.id,
        purpose: "mask_agreement",
        algorithm: "x25519",
        publicKey,
        fingerprint,
      });
    }
    return deps.audit.append(
      trx,
      {
        type: "exposure.mask_key_registered",
        memberId: who.member.id,
        inputSize: 1,
        outputCount: unchanged ? 0 : 1,
        decision: {
          allowed: true,
          rules: ["exposure.mask_key", ...(unchanged ? ["exposure.unchanged"] : [])],
        },
        requestHash: who.requestHash,
        responseHash: fingerprint,
      },
      at,
    );
  });
  deps.log.info("exposure.mask_key_registered", { member: who.member.slug });
  return { fingerprint: toBase64Url(fingerprint), receipt: await deps.audit.receipt(audit) };
}

function uniqueTags(texts: readonly string[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  for (const t of texts) {
    const tag = fromBase64Url(t);
    seen.set(toHex(tag), tag);
  }
  return [...seen.values()];
}

/** Registers tags the lender holds (its customers' resident-ID tags) under the network's epoch. */
export async function registerExposureSubjects(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: { epoch: number; tags: string[] },
): Promise<{ changed: number; total: number; receipt: unknown }> {
  await requireLender(deps, who, "exposure.capability");
  const tags = uniqueTags(input.tags);
  if (input.epoch !== deps.policy.epoch) {
    await deny(
      deps,
      who,
      new RelinkError("WRONG_EPOCH", `tags of epoch ${input.epoch}, network epoch ${deps.policy.epoch}`),
      { rule: "exposure.epoch", subjectTags: tags, inputSize: tags.length },
    );
  }
  // Issue 15.4: never beyond the lender's signed book declaration (exposure/book.ts).
  const cap = await declaredBookCap(deps, who);
  try {
    return await changeSubjects(
      deps,
      who,
      tags,
      "registered",
      (trx, at) => upsertExposureSubjects(trx, { memberId: who.member.id, epoch: input.epoch, tags }, at),
      cap,
    );
  } catch (error) {
    if (!(error instanceof BookCapExceeded)) throw error;
    return deny(
      deps,
      who,
      new RelinkError(
        "FORBIDDEN",
        cap === 0
          ? "declare the book (exposure.declareBook) before registering subjects"
          : `registering these subjects would exceed the declared book of ${cap} (${error.total} registered after)`,
      ),
      { rule: "exposure.book_cap", subjectTags: tags, inputSize: tags.length },
    );
  }
}

class BookCapExceeded extends Error {
  readonly total: number;
  constructor(total: number) {
    super("book cap exceeded");
    this.total = total;
  }
}

/** Removes tags the lender no longer holds. */
export async function unregisterExposureSubjects(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: { tags: string[] },
): Promise<{ changed: number; total: number; receipt: unknown }> {
  await requireLender(deps, who, "exposure.capability");
  const tags = uniqueTags(input.tags);
  return changeSubjects(deps, who, tags, "unregistered", (trx) =>
    deleteExposureSubjects(trx, who.member.id, tags),
  );
}

/**
 * Applies a change to the lender's subject set in one transaction with its audit leaf (committing to the
 * tags), then logs the counts and returns the receipt.
 */
async function changeSubjects(
  deps: CoreDeps,
  who: AuthenticatedMember,
  tags: Uint8Array[],
  change: "registered" | "unregistered",
  apply: (trx: Transaction<Database>, at: Date) => Promise<number>,
  cap?: number,
): Promise<{ changed: number; total: number; receipt: unknown }> {
  const at = deps.clock();
  const type = `exposure.subjects_${change}` as const;
  const done = await deps.db.transaction().execute(async (trx) => {
    if (cap !== undefined) await lockMemberRow(trx, who.member.id);
    const changed = await apply(trx, at);
    const total = await countExposureSubjects(trx, who.member.id);
    // Rolls the transaction back: nothing registered, no leaf.
    if (cap !== undefined && total > cap) throw new BookCapExceeded(total);
    const audit = await deps.audit.append(
      trx,
      {
        type,
        memberId: who.member.id,
        subjectTags: tags,
        inputSize: tags.length,
        outputCount: changed,
        decision: {
          allowed: true,
          rules: [change === "registered" ? "exposure.register" : "exposure.unregister"],
        },
        requestHash: who.requestHash,
      },
      at,
    );
    return { changed, total, audit };
  });
  deps.log.info(type, { member: who.member.slug, changed: done.changed, total: done.total });
  return { changed: done.changed, total: done.total, receipt: await deps.audit.receipt(done.audit) };
}
