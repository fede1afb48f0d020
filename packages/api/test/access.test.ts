/**
 * The portal's authorisation matrix: every role × every procedure a portal session can name, through the
 * real router and middleware over a real database (both backends). Allowed queries answer 200, allowed
 * mutations get as far as input validation (400: `{}` is not valid input, so nothing changes), denied
 * calls are 403 FORBIDDEN before any input is read. Also tried: acting for another member with its key,
 * calling `portal.*` without a session, procedures the portal never offers (admin.*, exposure.poll).
 * DPO procedures are signed with a DPO key (the browser holds it): a member role signs with member A's
 * DPO key, a network role with the network DPO key; a DPO key of the wrong kind for the grant is refused.
 */
import { createPortalUser, type PortalIdentity, portalIdentity, registerDpoKey } from "@relink/core";
import {
  createTestCore,
  describeEachBackend,
  onboardTestMember,
  seededBytes,
  signRequest,
  type TestCore,
  type TestMember,
} from "@relink/core/testing";
import { ed25519SignerFor, toBase64Url } from "@relink/protocol";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { beforeAll, expect, it } from "vitest";
import {
  type ApiContext,
  appRouter,
  PORTAL_ACCESS,
  type PortalRole,
  type PortalSession,
  ROLES,
} from "../src/index.ts";

const QUERIES = new Set([
  "network.info",
  "network.memberDirectory",
  "network.whoami",
  "portal.me",
  "portal.dashboard",
  "portal.consents",
  "portal.staff",
  "portal.memberKeys",
  "portal.members",
  "portal.keyHolders",
  "portal.alerts",
  "portal.optOuts",
  "dpo.consentReplay",
  "dpo.commitmentKey",
]);
/** Allowed calls that fail input validation although they are queries (their input is required). */
const QUERY_NEEDS_INPUT = new Set(["dpo.consentReplay"]);
const NETWORK = new Set<PortalRole>(["network_admin", "network_dpo"]);
/** Procedures no portal session may call, whatever its roles. */
const NEVER = [
  "admin.onboardMember",
  "admin.suspendMember",
  "admin.setQuotas",
  "admin.rekeyMember",
  "exposure.poll",
  "exposure.submit",
  "network.memberDirectory",
];

function sessionOf(id: PortalIdentity): PortalSession {
  return { userId: id.userId, memberId: id.memberId, pseudonym: id.pseudonym, grants: id.grants };
}

describeEachBackend("portal access matrix", ({ db }) => {
  let core: TestCore;
  let a: TestMember;
  let b: TestMember;
  const sessions = new Map<PortalRole, PortalSession>();

  // DPO keys: member A's (registered as a member DPO key) and the network's (in the hub's config).
  const memberDpo = { secretKey: seededBytes(63)(32) };
  const networkDpo = { secretKey: seededBytes(64)(32) };

  /** Who signs a call of `role`: DPO procedures with the DPO key of the role's kind, others member A's key. */
  const signerOf = (path: string, role: PortalRole) =>
    path.startsWith("dpo.") ? (NETWORK.has(role) ? networkDpo : memberDpo) : a;

  async function call(
    path: string,
    signer: Pick<TestMember, "secretKey">,
    portal: PortalSession | undefined,
  ) {
    const method = QUERIES.has(path) ? "GET" : "POST";
    const body = method === "POST" ? "{}" : undefined;
    const signed = signRequest(signer.secretKey, {
      method,
      path: `/trpc/${path}`,
      ...(body ? { body } : {}),
      timestampMs: core.clock().getTime(),
    });
    const req = new Request(`http://portal.test/trpc/${path}`, {
      method,
      headers: { ...signed.headers, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body } : {}),
    });
    const res = await fetchRequestHandler({
      endpoint: "/trpc",
      req,
      router: appRouter,
      createContext: async (): Promise<ApiContext> => ({
        core: core.deps,
        adminKeys: [],
        dpoKeys: [ed25519SignerFor(networkDpo.secretKey).publicKey],
        request: {
          method,
          path: `/trpc/${path}`,
          body: signed.body,
          header: (name) => req.headers.get(name) ?? undefined,
        },
        ...(portal ? { portal } : {}),
      }),
    });
    const json = (await res.json()) as { error?: { data?: { relink?: { code: string } } } };
    return { status: res.status, code: json.error?.data?.relink?.code };
  }

  beforeAll(async () => {
    core = createTestCore(db());
    a = await onboardTestMember(core, { slug: "access-a", capabilities: ["lender", "collector", "querier"] });
    b = await onboardTestMember(core, { slug: "access-b" });
    await registerDpoKey(core.deps, "access-a", toBase64Url(ed25519SignerFor(memberDpo.secretKey).publicKey));
    const memberA = await db()
      .selectFrom("member")
      .select("id")
      .where("slug", "=", "access-a")
      .executeTakeFirstOrThrow();
    for (const role of ROLES) {
      const network = role === "network_admin" || role === "network_dpo";
      const id = await createPortalUser(core.deps, {
        email: `${role}@access.example`,
        displayName: role,
        memberId: network ? null : memberA.id,
        password: "access-test-password",
        roles: [role],
      });
      sessions.set(role, sessionOf(await portalIdentity(core.deps, id.userId)));
    }
  });

  const paths = [...Object.keys(PORTAL_ACCESS), ...NEVER];
  it("covers every role and every listed procedure", () => {
    expect(ROLES.length).toBe(7);
    expect(Object.keys(PORTAL_ACCESS).length).toBeGreaterThanOrEqual(20);
    for (const p of Object.keys(PORTAL_ACCESS)) {
      const [router, proc] = p.split(".");
      expect(
        (appRouter._def.record as Record<string, Record<string, unknown>>)[router!]?.[proc!],
        p,
      ).toBeDefined();
    }
  });

  for (const path of paths) {
    it(`${path}: each role allowed or denied as PORTAL_ACCESS says`, async () => {
      const outcomes: string[] = [];
      const expected: string[] = [];
      for (const role of ROLES) {
        const r = await call(path, signerOf(path, role), sessions.get(role));
        const allowed = PORTAL_ACCESS[path]?.includes(role) ?? false;
        const ok = QUERIES.has(path) && !QUERY_NEEDS_INPUT.has(path) ? 200 : 400;
        expected.push(`${role}:${allowed ? ok : 403}`);
        outcomes.push(`${role}:${r.status}`);
        if (!allowed) expect(r.code, `${path} as ${role}`).toBe("FORBIDDEN");
      }
      expect(outcomes).toEqual(expected);
    });
  }

  it("a member role cannot act for another member, even with that member's key", async () => {
    const operator = sessions.get("collections_operator")!;
    expect((await call("lookup.run", a, operator)).status).toBe(400);
    const r = await call("lookup.run", b, operator);
    expect(r).toEqual({ status: 403, code: "FORBIDDEN" });
    expect((await call("network.whoami", b, sessions.get("member_admin")!)).status).toBe(403);
    // Network roles may read the own member of whichever member key their browser holds (the network-owned
    // member's computes their tags, ADR 0036) — and no more: publishing with it needs a grant for it.
    for (const role of ["network_admin", "network_dpo"] as const) {
      expect((await call("network.whoami", b, sessions.get(role)!)).status, role).toBe(200);
      expect(await call("directory.publish", b, sessions.get(role)!), role).toEqual({
        status: 403,
        code: "FORBIDDEN",
      });
    }
    // a member admin cannot rotate another member's key, even holding it
    expect(await call("member.rotateKey", b, sessions.get("member_admin")!)).toEqual({
      status: 403,
      code: "FORBIDDEN",
    });
    expect((await call("member.rotateKey", a, sessions.get("member_admin")!)).status).toBe(400);
  });

  it("a DPO key acts only with the matching grant: member DPO key ↔ member_dpo, network key ↔ network_dpo", async () => {
    // Each DPO role with the other kind's key: refused by the grant check, after the key itself verified.
    expect(await call("dpo.exportSlice", networkDpo, sessions.get("member_dpo")!)).toEqual({
      status: 403,
      code: "FORBIDDEN",
    });
    expect(await call("dpo.exportSlice", memberDpo, sessions.get("network_dpo")!)).toEqual({
      status: 403,
      code: "FORBIDDEN",
    });
    // A member key is no DPO key (401), whatever the session's roles.
    expect((await call("dpo.exportSlice", a, sessions.get("member_dpo")!)).status).toBe(401);
    // A member DPO of another member (its session's grant is for A) cannot use B's DPO key.
    const otherDpo = { secretKey: seededBytes(65)(32) };
    await registerDpoKey(core.deps, "access-b", toBase64Url(ed25519SignerFor(otherDpo.secretKey).publicKey));
    expect(await call("dpo.exportSlice", otherDpo, sessions.get("member_dpo")!)).toEqual({
      status: 403,
      code: "FORBIDDEN",
    });
    // Without a session (the CLI), the DPO key alone decides, as before.
    expect((await call("dpo.exportSlice", memberDpo, undefined)).status).toBe(400);
  });

  it("portal procedures need a session; node calls without one are unchanged", async () => {
    expect(await call("portal.dashboard", a, undefined)).toEqual({ status: 403, code: "FORBIDDEN" });
    expect((await call("network.whoami", a, undefined)).status).toBe(200);
  });

  it("a session with no grants (revoked, disabled) can call nothing", async () => {
    const none: PortalSession = { ...sessions.get("member_admin")!, grants: [] };
    for (const path of Object.keys(PORTAL_ACCESS)) {
      expect((await call(path, signerOf(path, "member_admin"), none)).status, path).toBe(403);
    }
  });
});
