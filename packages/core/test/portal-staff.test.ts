/**
 * A member administrator edits the roles of the member's own staff (setStaffRoles), on both backends: roles
 * are granted and revoked (the person's next session sees them), another member's staff cannot be edited or
 * probed (NOT_FOUND), network roles are refused, and an administrator cannot remove their own admin role.
 */
import { expect, it } from "vitest";
import { createPortalUser, portalIdentity, setStaffRoles } from "../src/index.ts";
import { createTestCore, describeEachBackend, onboardTestMember } from "../src/testing.ts";

describeEachBackend("member admin edits staff roles", ({ db }) => {
  async function setup() {
    const core = createTestCore(db());
    await onboardTestMember(core, { slug: `staff-a-${crypto.randomUUID().slice(0, 8)}` });
    await onboardTestMember(core, { slug: `staff-b-${crypto.randomUUID().slice(0, 8)}` });
    const [a, b] = await db()
      .selectFrom("member")
      .select(["id", "slug"])
      .orderBy("slug")
      .execute()
      .then((rows) => [
        rows.find((r) => r.slug.startsWith("staff-a"))!,
        rows.find((r) => r.slug.startsWith("staff-b"))!,
      ]);
    const user = (
      email: string,
      memberId: string,
      roles: ("member_admin" | "data_engineer" | "risk_analyst")[],
    ) =>
      createPortalUser(core.deps, {
        email: `${email}-${crypto.randomUUID().slice(0, 6)}@staff.example`,
        displayName: email,
        memberId,
        password: "staff-test-password",
        roles,
      });
    const admin = await user("admin", a!.id, ["member_admin"]);
    const engineer = await user("engineer", a!.id, ["data_engineer"]);
    const other = await user("other", b!.id, ["risk_analyst"]);
    return { core, a: a!, admin, engineer, other };
  }

  it("grants and revokes member roles; the person's next session has exactly them", async () => {
    const { core, a, admin, engineer } = await setup();
    const actor = { userId: admin.userId, memberId: a.id };
    const r = await setStaffRoles(core.deps, actor, {
      userId: engineer.userId,
      roles: ["risk_analyst", "member_dpo"],
    });
    expect([...r.roles].sort()).toEqual(["member_dpo", "risk_analyst"]);
    const id = await portalIdentity(core.deps, engineer.userId);
    expect(id.grants.map((g) => g.role).sort()).toEqual(["member_dpo", "risk_analyst"]);
    expect(id.grants.every((g) => g.memberId === a.id)).toBe(true);
    // Idempotent, and an empty list leaves the person without roles.
    await setStaffRoles(core.deps, actor, { userId: engineer.userId, roles: ["risk_analyst", "member_dpo"] });
    await setStaffRoles(core.deps, actor, { userId: engineer.userId, roles: [] });
    expect((await portalIdentity(core.deps, engineer.userId)).grants).toEqual([]);
    // Revoked grants stay on record with their time.
    const revoked = await db()
      .selectFrom("role_grant")
      .select(["role", "revoked_at"])
      .where("user_id", "=", engineer.userId)
      .where("revoked_at", "is not", null)
      .execute();
    expect(revoked.map((g) => g.role).sort()).toEqual(["data_engineer", "member_dpo", "risk_analyst"]);
  });

  it("refuses another member's staff, network roles and removing one's own admin role", async () => {
    const { core, a, admin, other } = await setup();
    const actor = { userId: admin.userId, memberId: a.id };
    await expect(
      setStaffRoles(core.deps, actor, { userId: other.userId, roles: ["member_admin"] }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      setStaffRoles(core.deps, actor, { userId: crypto.randomUUID(), roles: [] }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await portalIdentity(core.deps, other.userId)).grants.map((g) => g.role)).toEqual([
      "risk_analyst",
    ]);
    await expect(
      setStaffRoles(core.deps, actor, { userId: admin.userId, roles: ["network_admin"] as never }),
    ).rejects.toMatchObject({ code: "BAD_INPUT" });
    await expect(
      setStaffRoles(core.deps, actor, { userId: admin.userId, roles: ["data_engineer"] }),
    ).rejects.toMatchObject({ code: "BAD_INPUT", message: expect.stringMatching(/own member_admin/) });
    expect((await portalIdentity(core.deps, admin.userId)).grants.map((g) => g.role)).toEqual([
      "member_admin",
    ]);
  });
});
