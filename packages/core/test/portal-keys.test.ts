/** The member admin's read-only view of the member's keys and quotas (portal.memberKeys), on both backends. */
import { ed25519 } from "@noble/curves/ed25519.js";
import { findMemberBySlug } from "@relink/db";
import {
  ed25519SignerFor,
  keyFingerprint,
  proveKeyPossession,
  proveRekeyPossession,
  rotateKeyRequest,
  toBase64Url,
} from "@relink/protocol";
import { beforeAll, expect, it } from "vitest";
import {
  memberKeysAndQuotas,
  registerDpoKey,
  rekeyMember,
  rotateMemberKey,
  setQuotas,
} from "../src/index.ts";
import {
  createTestCore,
  describeEachBackend,
  onboardTestMember,
  seededBytes,
  type TestCore,
  type TestMember,
} from "../src/testing.ts";

describeEachBackend("member keys and quotas", ({ db }) => {
  let core: TestCore;
  let a: TestMember;
  let memberId: string;
  const dpoPublic = ed25519.getPublicKey(new Uint8Array(32).fill(7));

  beforeAll(async () => {
    core = createTestCore(db());
    a = await onboardTestMember(core, { slug: "keys-a" });
    await onboardTestMember(core, { slug: "keys-b" });
    memberId = (await findMemberBySlug(db(), "keys-a"))!.id;
    await registerDpoKey(core.deps, "keys-a", toBase64Url(dpoPublic));
  });

  it("lists the member's own active keys by purpose and fingerprint, no other member's", async () => {
    const v = await memberKeysAndQuotas(core.deps, memberId);
    const byPurpose = Object.fromEntries(v.keys.map((k) => [k.purpose, k]));
    expect(byPurpose["request_signing"]?.fingerprint).toBe(
      toBase64Url(keyFingerprint("ed25519", a.publicKey)),
    );
    expect(byPurpose["dpo"]?.publicKey).toBe(toBase64Url(dpoPublic));
    expect(v.keys).toHaveLength(2);
    expect(v.keys.every((k) => k.status === "active")).toBe(true);
    expect(v.retiredKeys).toEqual([]);
  });

  it("lists retired keys with when and why: rotated by the member, lost at the administrator's re-key", async () => {
    // The member rotates A → B, then loses B and the administrator re-keys it to C.
    const who = await a.authenticate();
    const b = ed25519SignerFor(seededBytes(3701)(32));
    const rotation = {
      networkId: core.deps.policy.networkId,
      memberId,
      oldKeyFingerprint: who.key.fingerprint,
      newPublicKey: b.publicKey,
      timestampMs: core.clock().getTime(),
      nonce: seededBytes(3702)(16),
    };
    await rotateMemberKey(core.deps, who, rotateKeyRequest(rotation, proveKeyPossession(b, rotation)));
    const c = ed25519SignerFor(seededBytes(3703)(32));
    const rekey = {
      networkId: core.deps.policy.networkId,
      member: "keys-a",
      newPublicKey: c.publicKey,
      timestampMs: core.clock().getTime(),
      nonce: seededBytes(3704)(16),
    };
    await rekeyMember(
      core.deps,
      { requestHash: new Uint8Array(32) },
      {
        slug: "keys-a",
        newPublicKey: toBase64Url(c.publicKey),
        timestampMs: rekey.timestampMs,
        nonce: toBase64Url(rekey.nonce),
        proof: toBase64Url(proveRekeyPossession(c, rekey)),
      },
    );
    const v = await memberKeysAndQuotas(core.deps, memberId);
    const fp = (pk: Uint8Array) => toBase64Url(keyFingerprint("ed25519", pk));
    expect(v.keys.find((k) => k.purpose === "request_signing")?.fingerprint).toBe(fp(c.publicKey));
    expect(v.retiredKeys.map((k) => [k.fingerprint, k.reason])).toEqual([
      [fp(b.publicKey), "lost"],
      [fp(a.publicKey), "rotated"],
    ]);
    expect(v.retiredKeys.every((k) => k.revokedAt === core.clock().toISOString())).toBe(true);
    // Another member's keys never appear.
    const other = await memberKeysAndQuotas(core.deps, (await findMemberBySlug(db(), "keys-b"))!.id);
    expect(other.retiredKeys).toEqual([]);
  });

  it("shows the quotas the network admin set, with today's usage", async () => {
    await setQuotas(core.deps, "keys-a", { dailyLookupQuota: 1234, dailyEvaluationQuota: 56789 });
    const v = await memberKeysAndQuotas(core.deps, memberId);
    expect(v.quotas).toMatchObject({
      dailyLookupQuota: 1234,
      dailyEvaluationQuota: 56789,
      lookupsToday: 0,
      evaluationsToday: 0,
      day: core.clock().toISOString().slice(0, 10),
    });
  });

  it("an unknown member is NOT_FOUND", async () => {
    await expect(
      memberKeysAndQuotas(core.deps, "00000000-0000-4000-8000-000000000000"),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});
