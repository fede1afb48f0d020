import { randomBytes, randomUUID } from "node:crypto";
import { sql } from "kysely";
import { expect, it } from "vitest";
import {
  countExposureSubjects,
  deleteExposureSubjects,
  exposureBudgetUsed,
  findCachedExposureAnswer,
  findExposureHolders,
  insertCachedExposureAnswer,
  packBlobs,
  purgeExposureLedger,
  spendExposureBudget,
  unpackBlobs,
  upsertExposureSubjects,
} from "../src/repositories/exposure.ts";
import { insertMemberKey, revokeMemberKey } from "../src/repositories/member-keys.ts";
import { insertMember, setMemberStatus } from "../src/repositories/members.ts";
import type { MemberCapability } from "../src/schema.ts";
import { describeEachBackend } from "../src/testing.ts";

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const at = new Date("2026-11-26T10:00:00Z");
const day = 86_400_000;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describeEachBackend("exposure repositories", ({ db }) => {
  const member = async (slug: string, capabilities: MemberCapability[] = ["lender"]) =>
    (await insertMember(db(), { slug, displayName: slug, kind: "bank", capabilities })).id;
  const maskKey = async (memberId: string) => {
    const publicKey = rnd(32);
    return insertMemberKey(db(), {
      memberId,
      purpose: "mask_agreement",
      algorithm: "x25519",
      publicKey,
      fingerprint: rnd(32),
    });
  };

  it("registers subjects idempotently, moves them between epochs, unregisters and counts", async () => {
    const a = await member("exp-reg-a");
    const tags = Array.from({ length: 1200 }, () => rnd(32));
    expect(await upsertExposureSubjects(db(), { memberId: a, epoch: 1, tags }, at)).toBe(1200);
    expect(await upsertExposureSubjects(db(), { memberId: a, epoch: 1, tags }, at)).toBe(0);
    expect(await upsertExposureSubjects(db(), { memberId: a, epoch: 2, tags: tags.slice(0, 10) }, at)).toBe(
      10,
    );
    expect(await countExposureSubjects(db(), a)).toBe(1200);
    expect(await deleteExposureSubjects(db(), a, [...tags.slice(0, 5), rnd(32)])).toBe(5);
    expect(await countExposureSubjects(db(), a)).toBe(1195);
  });

  it("finds holders of a tag: querier excluded, suspended and non-lenders left out, mask keys attached", async () => {
    const q = await member("exp-hold-q");
    const [l1, l2, l3, l4] = await Promise.all([
      member("exp-hold-1"),
      member("exp-hold-2"),
      member("exp-hold-3"),
      member("exp-hold-4", ["collector"]),
    ]);
    const k1 = await maskKey(l1!);
    const k2old = await maskKey(l2!);
    await revokeMemberKey(db(), k2old.id, at);
    const tag = rnd(32);
    const other = rnd(32);
    for (const m of [q, l1!, l2!, l3!, l4!])
      await upsertExposureSubjects(db(), { memberId: m, epoch: 1, tags: [tag] }, at);
    await upsertExposureSubjects(db(), { memberId: l1!, epoch: 2, tags: [other] }, at);
    await setMemberStatus(db(), l3!, { status: "suspended", reason: "test", at });
    const holders = await findExposureHolders(db(), { tags: [tag, other], epoch: 1, excludeMember: q });
    const byMember = new Map(holders.map((h) => [h.memberId, h]));
    expect([...byMember.keys()].sort()).toEqual([l1!, l2!].sort());
    expect(hex(byMember.get(l1!)!.maskKey!)).toBe(hex(k1.publicKey));
    expect(byMember.get(l2!)!.maskKey).toBeNull();
  });

  it("spends budgets over a rolling window, never beyond the limit, also in parallel", async () => {
    const q = await member("exp-budget-q", ["querier"]);
    const [t1, t2] = [rnd(32), rnd(32)];
    const spend = (tags: Uint8Array[], when: Date) =>
      db()
        .transaction()
        .execute((trx) =>
          spendExposureBudget(trx, {
            querierId: q,
            tags,
            at: when,
            since: new Date(when.getTime() - 30 * day),
            limit: 3,
          }),
        );
    expect((await spend([t1], new Date(at.getTime() - 40 * day))).spent).toHaveLength(1);
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => spend([t1, t2], at)));
    const spentT1 = results.filter((r) => r.spent.some((t) => hex(t) === hex(t1))).length;
    expect(spentT1).toBe(3); // the spending of 40 days ago is outside the window
    expect(results.flatMap((r) => r.exhausted).length).toBe(4);
    const used = await exposureBudgetUsed(db(), {
      querierId: q,
      tags: [t1, t2],
      since: new Date(at.getTime() - 30 * day),
    });
    expect(used.get(hex(t1))).toBe(3);
    expect(used.get(hex(t2))).toBe(3);
  });

  it("uses the ledger index for the rolling sum", async () => {
    // One connection (a transaction): `set local` must apply to the explained statement.
    const rows = await db()
      .transaction()
      .execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx);
        const r = await sql<{ "QUERY PLAN": string }>`explain
          select tag, sum(units) from exposure_budget_spend
          where querier_id = ${randomUUID()} and tag in (${rnd(32)}, ${rnd(32)}) and spent_at > ${at}
          group by tag`.execute(trx);
        return r.rows;
      });
    expect(rows.map((r) => r["QUERY PLAN"]).join("\n")).toContain("exposure_budget_spend_idx");
  });

  it("caches answers per (querier, request key) and returns the newest within the window", async () => {
    const q = await member("exp-cache-q", ["querier"]);
    const key = rnd(32);
    const cts = [rnd(100), rnd(0), rnd(7)];
    const first = randomUUID();
    await insertCachedExposureAnswer(db(), {
      querierId: q,
      requestKey: key,
      queryId: first,
      createdAt: new Date(at.getTime() - 2 * day),
      publicKeyHash: rnd(32),
      answer: { old: true },
      ciphertexts: [rnd(5)],
    });
    const second = randomUUID();
    await insertCachedExposureAnswer(db(), {
      querierId: q,
      requestKey: key,
      queryId: second,
      createdAt: at,
      publicKeyHash: rnd(32),
      answer: { subjects: [{ status: "ok", slotBase: 0 }] },
      ciphertexts: cts,
    });
    const hit = await findCachedExposureAnswer(db(), {
      querierId: q,
      requestKey: key,
      since: new Date(at.getTime() - day),
    });
    expect(hit?.queryId).toBe(second);
    expect(hit?.answer).toEqual({ subjects: [{ status: "ok", slotBase: 0 }] });
    expect(hit?.ciphertexts.map(hex)).toEqual(cts.map(hex));
    expect(
      await findCachedExposureAnswer(db(), { querierId: q, requestKey: rnd(32), since: at }),
    ).toBeUndefined();
    const purged = await purgeExposureLedger(db(), {
      spendBefore: new Date(0),
      cacheBefore: new Date(at.getTime() - day),
    });
    expect(purged.cache).toBe(1);
  });

  it("packs and unpacks length-prefixed blobs, refusing truncation", () => {
    const blobs = [rnd(3), rnd(0), rnd(70_000)];
    expect(unpackBlobs(packBlobs(blobs)).map(hex)).toEqual(blobs.map(hex));
    const packed = packBlobs(blobs);
    expect(() => unpackBlobs(packed.subarray(0, packed.length - 1))).toThrow(/truncated/);
    expect(() => unpackBlobs(Uint8Array.of(0, 0))).toThrow(/truncated/);
  });
});
