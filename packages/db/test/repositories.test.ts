import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { expect, it } from "vitest";
import { ConflictError, NotFoundError } from "../src/errors.ts";
import {
  findActiveKeyByFingerprint,
  findActiveKeyWithMember,
  insertMemberKey,
  listActiveKeys,
  revokeMemberKey,
} from "../src/repositories/member-keys.ts";
import {
  findMemberById,
  findMemberBySlug,
  insertMember,
  listMembers,
  setMemberQuotas,
  setMemberStatus,
} from "../src/repositories/members.ts";
import {
  activeRoles,
  findUserByEmail,
  grantRole,
  insertUser,
  revokeRole,
} from "../src/repositories/users.ts";
import { describeEachBackend } from "../src/testing.ts";

const at = new Date("2026-11-26T08:00:00Z");

describeEachBackend("members, keys, users and roles", ({ db }) => {
  it("onboards a member with defaults and finds it by id and slug", async () => {
    const m = await insertMember(db(), {
      slug: "acme-bank",
      displayName: "Acme Bank",
      kind: "bank",
      capabilities: ["lender", "querier"],
    });
    expect(m.status).toBe("active");
    expect(m.dailyLookupQuota).toBe(10_000n);
    expect(await findMemberById(db(), m.id)).toEqual(m);
    expect(await findMemberBySlug(db(), "acme-bank")).toEqual(m);
    expect(await findMemberBySlug(db(), "nope")).toBeUndefined();
  });

  it("rejects a duplicate slug with a typed conflict, and bad values via constraints", async () => {
    await expect(
      insertMember(db(), { slug: "acme-bank", displayName: "Other", kind: "bank", capabilities: [] }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      insertMember(db(), { slug: "Bad Slug", displayName: "x", kind: "bank", capabilities: [] }),
    ).rejects.toThrow(/check constraint/);
    await expect(
      insertMember(db(), {
        slug: "weird",
        displayName: "x",
        kind: "bank",
        capabilities: ["admin" as "lender"],
      }),
    ).rejects.toThrow(/check constraint/);
  });

  it("suspends and reinstates, keeping suspension fields consistent", async () => {
    const m = (await findMemberBySlug(db(), "acme-bank"))!;
    const s = await setMemberStatus(db(), m.id, { status: "suspended", reason: "fishing alert", at });
    expect(s).toMatchObject({ status: "suspended", suspendedReason: "fishing alert", suspendedAt: at });
    const r = await setMemberStatus(db(), m.id, { status: "active", at });
    expect(r).toMatchObject({ status: "active", suspendedReason: null, suspendedAt: null });
    // The table itself refuses an inconsistent suspension.
    await expect(
      sql`update member set status = 'suspended' where id = ${m.id}`.execute(db()),
    ).rejects.toThrow(/check constraint/);
    await expect(
      setMemberStatus(db(), "00000000-0000-0000-0000-000000000000", { status: "active", at }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("sets quotas as bigint", async () => {
    const m = (await findMemberBySlug(db(), "acme-bank"))!;
    const q = await setMemberQuotas(db(), m.id, { dailyLookupQuota: 5_000_000_000n }, at);
    expect(q.dailyLookupQuota).toBe(5_000_000_000n);
    expect(q.dailyEvaluationQuota).toBe(50_000n);
  });

  it("registers keys by fingerprint, refuses duplicates and wrong sizes, revokes", async () => {
    const m = (await findMemberBySlug(db(), "acme-bank"))!;
    const pk = new Uint8Array(randomBytes(32));
    const fp = new Uint8Array(randomBytes(32));
    const k = await insertMemberKey(db(), {
      memberId: m.id,
      purpose: "request_signing",
      algorithm: "ed25519",
      publicKey: pk,
      fingerprint: fp,
    });
    expect(k.fingerprint).toEqual(fp);
    expect((await findActiveKeyByFingerprint(db(), k.fingerprint))?.id).toBe(k.id);
    // The join that authentication uses: the same key and the same member as the two single lookups.
    const joined = await findActiveKeyWithMember(db(), k.fingerprint);
    expect(joined?.key).toEqual(await findActiveKeyByFingerprint(db(), k.fingerprint));
    expect(joined?.member).toEqual(await findMemberById(db(), m.id));
    await expect(
      insertMemberKey(db(), {
        memberId: m.id,
        purpose: "request_signing",
        algorithm: "ed25519",
        publicKey: pk,
        fingerprint: fp,
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      insertMemberKey(db(), {
        memberId: m.id,
        purpose: "request_signing",
        algorithm: "ed25519",
        publicKey: new Uint8Array(31),
        fingerprint: new Uint8Array(randomBytes(32)),
      }),
    ).rejects.toThrow(/check constraint/);
    // X25519 keys are only for mask agreement, Ed25519 never.
    await expect(
      insertMemberKey(db(), {
        memberId: m.id,
        purpose: "mask_agreement",
        algorithm: "ed25519",
        publicKey: new Uint8Array(randomBytes(32)),
        fingerprint: new Uint8Array(randomBytes(32)),
      }),
    ).rejects.toThrow(/check constraint/);
    await expect(
      insertMemberKey(db(), {
        memberId: "00000000-0000-0000-0000-000000000000",
        purpose: "request_signing",
        algorithm: "ed25519",
        publicKey: new Uint8Array(randomBytes(32)),
        fingerprint: new Uint8Array(randomBytes(32)),
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await revokeMemberKey(db(), k.id, at);
    expect(await findActiveKeyByFingerprint(db(), k.fingerprint)).toBeUndefined();
    expect(await findActiveKeyWithMember(db(), k.fingerprint)).toBeUndefined();
    expect(await listActiveKeys(db(), m.id)).toEqual([]);
    await expect(revokeMemberKey(db(), k.id, at)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("creates users with case-folded unique e-mail and scoped role grants", async () => {
    const m = (await findMemberBySlug(db(), "acme-bank"))!;
    const u = await insertUser(db(), {
      memberId: m.id,
      email: "  Li.Wei@Acme.example ",
      displayName: "李伟",
      auditPseudonym: new Uint8Array(randomBytes(32)),
    });
    expect(u.email).toBe("li.wei@acme.example");
    expect((await findUserByEmail(db(), "LI.WEI@acme.example"))?.id).toBe(u.id);
    await expect(
      insertUser(db(), {
        memberId: m.id,
        email: "li.wei@acme.example",
        displayName: "dup",
        auditPseudonym: new Uint8Array(randomBytes(32)),
      }),
    ).rejects.toBeInstanceOf(ConflictError);

    const g = await grantRole(db(), {
      userId: u.id,
      role: "collections_operator",
      memberId: m.id,
      grantedBy: null,
    });
    await expect(
      grantRole(db(), { userId: u.id, role: "collections_operator", memberId: m.id, grantedBy: null }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      grantRole(db(), { userId: u.id, role: "network_admin", memberId: m.id, grantedBy: null }),
    ).rejects.toThrow(/network-wide/);
    await expect(
      grantRole(db(), { userId: u.id, role: "risk_analyst", memberId: null, grantedBy: null }),
    ).rejects.toThrow(/scoped to a member/);
    expect((await activeRoles(db(), u.id)).map((r) => r.role)).toEqual(["collections_operator"]);
    await revokeRole(db(), g.id, at);
    expect(await activeRoles(db(), u.id)).toEqual([]);
    // After revocation the same role can be granted again.
    await grantRole(db(), { userId: u.id, role: "collections_operator", memberId: m.id, grantedBy: null });
    expect((await listMembers(db())).map((x) => x.slug)).toEqual(["acme-bank"]);
  });
});
