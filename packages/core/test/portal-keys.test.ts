/** The member admin's read-only view of the member's keys and quotas (portal.memberKeys), on both backends. */
import { ed25519 } from "@noble/curves/ed25519.js";
import { findMemberBySlug } from "@relink/db";
import { keyFingerprint, toBase64Url } from "@relink/protocol";
import { beforeAll, expect, it } from "vitest";
import { memberKeysAndQuotas, registerDpoKey, setQuotas } from "../src/index.ts";
import {
  createTestCore,
  describeEachBackend,
  onboardTestMember,
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
