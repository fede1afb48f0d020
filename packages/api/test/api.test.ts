/**
 * The tRPC API in process, through tRPC's fetch adapter (the portal's mount; the hub's node:http mount
 * reads the body the same way): every procedure validates its input with the protocol schemas before core
 * sees it, domain errors map to the right tRPC/HTTP codes with the wire error in `data.relink`, and an
 * internal error never shows its message. Real core over a real database (both backends) and audit log.
 */
import { randomUUID } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  createTestCore,
  describeEachBackend,
  onboardTestMember,
  type SignedRequest,
  seededBytes,
  signRequest,
  type TestCore,
  type TestMember,
} from "@relink/core/testing";
import {
  attestConsent,
  type ConsentRecord,
  ed25519SignerFor,
  keyFingerprint,
  LIMITS,
  MAX_CLOCK_SKEW_MS,
  proveKeyPossession,
  rotateKeyRequest,
  SIGNATURE_HEADERS,
  toBase64Url,
} from "@relink/protocol";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { beforeAll, describe, expect, it } from "vitest";
import { type ApiContext, appRouter } from "../src/index.ts";

const NOW = "2026-11-26T09:30:00.000Z";
const SECONDS_TO_MIDNIGHT = 14 * 3600 + 30 * 60;

interface WireErrorBody {
  message: string;
  code: number;
  data: {
    code: string;
    httpStatus: number;
    path: string;
    stack?: string;
    relink?: { code: string; message: string; field?: string; retryAfterSeconds?: number };
  };
}

interface Answer {
  status: number;
  text: string;
  error?: WireErrorBody;
  data?: unknown;
}

const b64 = (n: number, fill = 1) => toBase64Url(new Uint8Array(n).fill(fill));
const tag = (n: number) => b64(32, n);

function upsert(n: number, over: Record<string, unknown> = {}) {
  return {
    tag: tag(n),
    recordId: b64(16, n),
    kind: "phone",
    labelVersion: 20_000,
    valueDigest: b64(32, 200),
    lastSeenOn: "2026-11-01",
    sealed: b64(40, n),
    ...over,
  };
}

const sha = (s: string) => toBase64Url(sha256(new TextEncoder().encode(s)));

/** A consent record shaped right (schema cases); `signed` makes its attestation the member's real one. */
function consent(n: number, over: Record<string, unknown> = {}) {
  return {
    reference: `case-${n}`,
    tag: tag(n),
    purpose: "debt_collection",
    legalBasis: "consent",
    dataCategories: ["contact"],
    grantedAt: "2026-01-01T00:00:00Z",
    expiresAt: "2027-01-01T00:00:00Z",
    evidenceHash: sha(`evidence-${n}`),
    caseCommitment: sha(`case-${n}`),
    attestation: b64(64, 1),
    ...over,
  };
}

function signed(member: TestMember, memberId: string, n: number, over: Record<string, unknown> = {}) {
  const { attestation: _, ...record } = consent(n, over) as ConsentRecord;
  return attestConsent(member.secretKey, { networkId: "relink.test", memberId }, record);
}

const lookup = (over: Record<string, unknown> = {}) => ({
  epoch: 1,
  purpose: "debt_collection",
  tags: [tag(1)],
  caseCommitment: b64(32, 5),
  ...over,
});

describeEachBackend("hub API over tRPC", ({ db }) => {
  let core: TestCore;
  let lender: TestMember;
  let collector: TestMember;
  const adminSecret = seededBytes(501)(32);

  /** Serves one Request the way the hub does: the raw body is read for the signature, then tRPC parses it. */
  async function serve(req: Request, ctxCore = core.deps): Promise<Answer> {
    const res = await fetchRequestHandler({
      endpoint: "/trpc",
      req,
      router: appRouter,
      createContext: async (): Promise<ApiContext> => {
        const url = new URL(req.url);
        const body = new Uint8Array(await req.clone().arrayBuffer());
        return {
          core: ctxCore,
          adminKeys: [ed25519.getPublicKey(adminSecret)],
          request: {
            method: req.method,
            path: url.pathname + url.search,
            body,
            header: (name) => req.headers.get(name) ?? undefined,
          },
        };
      },
    });
    const text = await res.text();
    const json = JSON.parse(text) as { error?: WireErrorBody; result?: { data: unknown } };
    return {
      status: res.status,
      text,
      ...(json.error ? { error: json.error } : { data: json.result?.data }),
    };
  }

  function toRequest(s: SignedRequest): Request {
    const init: RequestInit = { method: s.method, headers: { ...s.headers } };
    if (s.method === "POST") {
      init.headers = { ...s.headers, "content-type": "application/json" };
      init.body = new Uint8Array(s.body);
    }
    return new Request(`http://hub.test${s.path}`, init);
  }

  /** A mutation signed by `secretKey` (a member's or the administrator's). */
  const mutate = (
    secretKey: Uint8Array,
    path: string,
    input: unknown,
    timestampMs = core.clock().getTime(),
  ) =>
    serve(
      toRequest(
        signRequest(secretKey, {
          method: "POST",
          path: `/trpc/${path}`,
          body: JSON.stringify(input),
          timestampMs,
        }),
      ),
    );
  const query = (secretKey: Uint8Array | undefined, path: string) =>
    serve(
      secretKey
        ? toRequest(
            signRequest(secretKey, {
              method: "GET",
              path: `/trpc/${path}`,
              timestampMs: core.clock().getTime(),
            }),
          )
        : new Request(`http://hub.test/trpc/${path}`),
    );

  function expectRefused(a: Answer, trpcCode: string, httpStatus: number, relinkCode: string | undefined) {
    expect(a.error, a.text).toBeDefined();
    expect(a.status).toBe(httpStatus);
    expect(a.error!.data.code).toBe(trpcCode);
    expect(a.error!.data.httpStatus).toBe(httpStatus);
    expect(a.error!.data.relink?.code).toBe(relinkCode);
    expect(a.error!.data.stack).toBeUndefined();
  }

  beforeAll(async () => {
    core = createTestCore(db(), { now: NOW });
    lender = await onboardTestMember(core, { slug: "api-lender", capabilities: ["lender"] });
    collector = await onboardTestMember(core, { slug: "api-collector", dailyLookupQuota: 3 });
  });

  describe("input validation: BAD_REQUEST, wire code BAD_INPUT, the field named by its path", () => {
    const cases: [string, string, () => unknown, string | undefined][] = [
      // [procedure, what, input, field path]
      [
        "directory.publish",
        "tag one byte short",
        () => batch([upsert(1, { tag: b64(31) })]),
        "upserts.0.tag",
      ],
      ["directory.publish", "tag one byte long", () => batch([upsert(1, { tag: b64(33) })]), "upserts.0.tag"],
      [
        "directory.publish",
        "tag not base64url",
        () => batch([upsert(1, { tag: `${tag(1).slice(0, -1)}+` })]),
        "upserts.0.tag",
      ],
      ["directory.publish", "tag padded", () => batch([upsert(1, { tag: `${tag(1)}=` })]), "upserts.0.tag"],
      ["directory.publish", "deletion tag short", () => batch([], [{ tag: b64(16) }]), "deletions.0.tag"],
      [
        "directory.publish",
        "recordId 15 bytes",
        () => batch([upsert(1, { recordId: b64(15) })]),
        "upserts.0.recordId",
      ],
      [
        "directory.publish",
        "sealed label over 2048 bytes",
        () => batch([upsert(1, { sealed: b64(LIMITS.sealedLabelBytes + 1) })]),
        "upserts.0.sealed",
      ],
      [
        "directory.publish",
        "sealed label under 40 bytes",
        () => batch([upsert(1, { sealed: b64(39) })]),
        "upserts.0.sealed",
      ],
      [
        "directory.publish",
        "lastSeenOn not a date",
        () => batch([upsert(1, { lastSeenOn: "2026-02-30" })]),
        "upserts.0.lastSeenOn",
      ],
      ["directory.publish", "unknown kind", () => batch([upsert(1, { kind: "fax" })]), "upserts.0.kind"],
      [
        "directory.publish",
        "labelVersion 0",
        () => batch([upsert(1, { labelVersion: 0 })]),
        "upserts.0.labelVersion",
      ],
      [
        "directory.publish",
        "batch id not a UUID",
        () => ({ ...batch([upsert(1)]), batchId: "batch-1" }),
        "batchId",
      ],
      ["directory.publish", "epoch 0", () => ({ ...batch([upsert(1)]), epoch: 0 }), "epoch"],
      ["directory.publish", "an empty batch", () => batch([]), undefined],
      // Checked by core, not the schema: the wire error names the field the same way.
      [
        "directory.publish",
        "the same record twice",
        () => batch([upsert(1), upsert(1, { lastSeenOn: "2026-11-02" })]),
        "upserts.1.recordId",
      ],
      [
        "directory.publish",
        "too many upserts",
        () => batch(Array.from({ length: LIMITS.recordsPerBatch + 1 }, (_, i) => upsert(i))),
        "upserts",
      ],
      [
        "directory.publish",
        "too many deletions",
        () =>
          batch(
            [],
            Array.from({ length: LIMITS.recordsPerBatch + 1 }, (_, i) => ({ tag: tag(i) })),
          ),
        "deletions",
      ],
      ["directory.erase", "no tags", () => ({ tags: [] }), "tags"],
      [
        "directory.erase",
        "too many tags",
        () => ({ tags: Array.from({ length: LIMITS.tagsPerLookup + 1 }, (_, i) => tag(i)) }),
        "tags",
      ],
      ["directory.erase", "tag padded", () => ({ tags: [tag(1), `${tag(2)}=`] }), "tags.1"],
      ["lookup.run", "no tags", () => lookup({ tags: [] }), "tags"],
      [
        "lookup.run",
        "too many tags",
        () => lookup({ tags: Array.from({ length: LIMITS.tagsPerLookup + 1 }, (_, i) => tag(i)) }),
        "tags",
      ],
      [
        "lookup.run",
        "tag not base64url",
        () => lookup({ tags: ["not/base64+url".padEnd(43, "A")] }),
        "tags.0",
      ],
      ["lookup.run", "caseCommitment 31 bytes", () => lookup({ caseCommitment: b64(31) }), "caseCommitment"],
      ["lookup.run", "unknown purpose", () => lookup({ purpose: "marketing" }), "purpose"],
      ["lookup.run", "epoch as a string", () => lookup({ epoch: "1" }), "epoch"],
      ["consent.register", "no consents", () => ({ consents: [] }), "consents"],
      [
        "consent.register",
        "too many consents",
        () => ({ consents: Array.from({ length: LIMITS.consentsPerBatch + 1 }, (_, i) => consent(i)) }),
        "consents",
      ],
      [
        "consent.register",
        "grantedAt not a date-time",
        () => ({ consents: [consent(1, { grantedAt: "2026-13-01T00:00:00Z" })] }),
        "consents.0.grantedAt",
      ],
      [
        "consent.register",
        "expiresAt without offset",
        () => ({ consents: [consent(1, { expiresAt: "2027-01-01T00:00:00" })] }),
        "consents.0.expiresAt",
      ],
      [
        "consent.register",
        "expiry before grant",
        () => ({ consents: [consent(1, { expiresAt: "2025-01-01T00:00:00Z" })] }),
        "consents.0.expiresAt",
      ],
      [
        "consent.register",
        "evidence hash 33 bytes",
        () => ({ consents: [consent(1, { evidenceHash: b64(33) })] }),
        "consents.0.evidenceHash",
      ],
      [
        "consent.register",
        "no data category",
        () => ({ consents: [consent(1, { dataCategories: [] })] }),
        "consents.0.dataCategories",
      ],
      [
        "consent.register",
        "unknown legal basis",
        () => ({ consents: [consent(1, { legalBasis: "legitimate_interest" })] }),
        "consents.0.legalBasis",
      ],
      // Issue 15 (extra): NUL, control and bidi-override characters in a reference were a 500.
      [
        "consent.register",
        "NUL in a reference",
        () => ({ consents: [consent(1, { reference: "case\u0000-1" })] }),
        "consents.0.reference",
      ],
      [
        "consent.register",
        "right-to-left override in a reference",
        () => ({ consents: [consent(1, { reference: "case-\u202Egnp.exe" })] }),
        "consents.0.reference",
      ],
      [
        "consent.register",
        "right-to-left mark in a reference",
        () => ({ consents: [consent(1), consent(2, { reference: "case-\u200F2" })] }),
        "consents.1.reference",
      ],
      [
        "consent.register",
        "line feed in a reference",
        () => ({ consents: [consent(1, { reference: "case\n1" })] }),
        "consents.0.reference",
      ],
      [
        "consent.register",
        "attestation missing",
        () => ({ consents: [{ ...consent(1), attestation: undefined }] }),
        "consents.0.attestation",
      ],
      [
        "consent.revoke",
        "NUL in a reference to revoke",
        () => ({ references: ["ok", "bad\u0000"] }),
        "references.1",
      ],
      ["consent.revoke", "no references", () => ({ references: [] }), "references"],
      [
        "consent.revoke",
        "reference over 128 chars",
        () => ({ references: ["r".repeat(129)] }),
        "references.0",
      ],
    ];
    function batch(upserts: unknown[], deletions: unknown[] = []) {
      return { batchId: randomUUID(), epoch: 1, upserts, deletions };
    }

    for (const [procedure, what, input, field] of cases) {
      it(`${procedure}: ${what}`, async () => {
        const a = await mutate(collector.secretKey, procedure, input());
        expectRefused(a, "BAD_REQUEST", 400, "BAD_INPUT");
        expect(a.error!.data.relink!.field).toBe(field);
        if (field === undefined) expect(a.error!.data.relink!.message).toBe("empty batch");
      });
    }

    const adminCases: [string, string, unknown, string][] = [
      [
        "admin.onboardMember",
        "slug with capitals",
        { slug: "Bad_Slug", displayName: "x", kind: "bank", capabilities: [], signingPublicKey: b64(32) },
        "slug",
      ],
      [
        "admin.onboardMember",
        "signing key 31 bytes",
        { slug: "ok-slug", displayName: "x", kind: "bank", capabilities: [], signingPublicKey: b64(31) },
        "signingPublicKey",
      ],
      [
        "admin.onboardMember",
        "unknown capability",
        {
          slug: "ok-slug",
          displayName: "x",
          kind: "bank",
          capabilities: ["root"],
          signingPublicKey: b64(32),
        },
        "capabilities.0",
      ],
      ["admin.suspendMember", "empty reason", { slug: "api-lender", reason: "" }, "reason"],
      ["admin.setQuotas", "negative quota", { slug: "api-lender", dailyLookupQuota: -1 }, "dailyLookupQuota"],
    ];
    for (const [procedure, what, input, field] of adminCases) {
      it(`${procedure}: ${what}`, async () => {
        const a = await mutate(adminSecret, procedure, input);
        expectRefused(a, "BAD_REQUEST", 400, "BAD_INPUT");
        expect(a.error!.data.relink!.field).toBe(field);
      });
    }

    it("authenticates before it parses: a stranger's malformed input is UNAUTHORIZED, not BAD_REQUEST", async () => {
      const a = await mutate(seededBytes(4242)(32), "lookup.run", lookup({ tags: [] }));
      expectRefused(a, "UNAUTHORIZED", 401, "UNKNOWN_KEY");
    });
  });

  describe("error mapping", () => {
    it("serves a signed query and a signed mutation", async () => {
      const me = await query(collector.secretKey, "network.whoami");
      expect(me.status).toBe(200);
      expect(me.data).toMatchObject({ slug: "api-collector", status: "active", dailyLookupQuota: 3 });
      const published = await mutate(lender.secretKey, "directory.publish", {
        batchId: randomUUID(),
        epoch: 1,
        upserts: [upsert(1)],
        deletions: [],
      });
      expect(published.status).toBe(200);
      expect(published.data).toMatchObject({ replayed: false, upserted: 1, deleted: 0 });
      const info = await query(undefined, "network.info");
      expect(info.data).toMatchObject({
        protocolVersion: 1,
        networkId: "relink.test",
        epoch: 1,
        threshold: 2,
      });
    });

    it("UNAUTHORIZED (401) for a missing, forged, stale, replayed or unknown signature", async () => {
      expectRefused(await query(undefined, "network.whoami"), "UNAUTHORIZED", 401, "BAD_SIGNATURE");
      const signed = signRequest(collector.secretKey, {
        method: "GET",
        path: "/trpc/network.whoami",
        timestampMs: core.clock().getTime(),
      });
      const forged = { ...signed, path: "/trpc/network.whoami?x=1" };
      expectRefused(await serve(toRequest(forged)), "UNAUTHORIZED", 401, "BAD_SIGNATURE");
      expect((await serve(toRequest(signed))).status).toBe(200);
      expectRefused(await serve(toRequest(signed)), "UNAUTHORIZED", 401, "REPLAYED_REQUEST");
      const stale = await mutate(
        collector.secretKey,
        "lookup.run",
        lookup(),
        core.clock().getTime() - MAX_CLOCK_SKEW_MS - 1,
      );
      expectRefused(stale, "UNAUTHORIZED", 401, "STALE_REQUEST");
      expectRefused(await query(seededBytes(4243)(32), "network.whoami"), "UNAUTHORIZED", 401, "UNKNOWN_KEY");
      // A member key is not an administrator key.
      const asAdmin = await mutate(collector.secretKey, "admin.setQuotas", {
        slug: "api-collector",
        dailyLookupQuota: 1e6,
      });
      expectRefused(asAdmin, "UNAUTHORIZED", 401, "UNKNOWN_KEY");
      // The signature covers the body: the same headers over other bytes fail.
      const s = signRequest(collector.secretKey, {
        method: "POST",
        path: "/trpc/lookup.run",
        body: JSON.stringify(lookup()),
        timestampMs: core.clock().getTime(),
      });
      const swapped = new Request("http://hub.test/trpc/lookup.run", {
        method: "POST",
        headers: { ...s.headers, "content-type": "application/json" },
        body: JSON.stringify(lookup({ tags: [tag(1), tag(2)] })),
      });
      expectRefused(await serve(swapped), "UNAUTHORIZED", 401, "BAD_SIGNATURE");
      expect(Object.values(SIGNATURE_HEADERS).every((h) => h in s.headers)).toBe(true);
    });

    it("FORBIDDEN (403) for a missing capability and for a suspended member", async () => {
      expectRefused(await mutate(lender.secretKey, "lookup.run", lookup()), "FORBIDDEN", 403, "FORBIDDEN");
      const m = await onboardTestMember(core, { slug: "api-suspended" });
      const suspended = await mutate(adminSecret, "admin.suspendMember", {
        slug: "api-suspended",
        reason: "audit",
      });
      expect(suspended.data).toMatchObject({ status: "suspended", suspendedReason: "audit" });
      expectRefused(await mutate(m.secretKey, "lookup.run", lookup()), "FORBIDDEN", 403, "MEMBER_SUSPENDED");
      await mutate(adminSecret, "admin.reinstateMember", { slug: "api-suspended" });
      expect((await mutate(m.secretKey, "lookup.run", lookup())).status).toBe(200);
    });

    it("TOO_MANY_REQUESTS (429) with retryAfterSeconds in data.relink", async () => {
      expect(
        (await mutate(collector.secretKey, "lookup.run", lookup({ tags: [tag(1), tag(2)] }))).status,
      ).toBe(200);
      const a = await mutate(collector.secretKey, "lookup.run", lookup({ tags: [tag(3), tag(4)] }));
      expectRefused(a, "TOO_MANY_REQUESTS", 429, "QUOTA_EXCEEDED");
      expect(a.error!.data.relink!.retryAfterSeconds).toBe(SECONDS_TO_MIDNIGHT);
    });

    it("PRECONDITION_FAILED (412) for another epoch; CONFLICT (409) for a reused batch id; NOT_FOUND for an unknown consent reference", async () => {
      expectRefused(
        await mutate(collector.secretKey, "lookup.run", lookup({ epoch: 2 })),
        "PRECONDITION_FAILED",
        412,
        "WRONG_EPOCH",
      );
      const batchId = randomUUID();
      await mutate(lender.secretKey, "directory.publish", {
        batchId,
        epoch: 1,
        upserts: [upsert(5)],
        deletions: [],
      });
      const reused = await mutate(lender.secretKey, "directory.publish", {
        batchId,
        epoch: 1,
        upserts: [upsert(6)],
        deletions: [],
      });
      expectRefused(reused, "CONFLICT", 409, "CONFLICT");
      const collectorId = (await collector.authenticate()).member.id;
      const first = await mutate(collector.secretKey, "consent.register", {
        consents: [signed(collector, collectorId, 1)],
      });
      expect(first.status, first.text).toBe(200);
      // Re-registering the same consent is a no-op (idempotent per reference), not a conflict.
      const again = await mutate(collector.secretKey, "consent.register", {
        consents: [signed(collector, collectorId, 1)],
      });
      expect(again.status).toBe(200);
      expect(again.data).toMatchObject({ registered: 0, unchanged: 1, receipt: null });
      const unknown = await mutate(collector.secretKey, "consent.revoke", { references: ["no-such-ref"] });
      expectRefused(unknown, "NOT_FOUND", 404, "NOT_FOUND");
    });

    it("NOT_FOUND (404) for an unknown member slug", async () => {
      expectRefused(
        await mutate(adminSecret, "admin.suspendMember", { slug: "no-such-member", reason: "x" }),
        "NOT_FOUND",
        404,
        "NOT_FOUND",
      );
    });

    it("an internal error is INTERNAL_SERVER_ERROR (500) and never leaks its message", async () => {
      const secret = "postgres://hub:s3cr3t-pw@10.0.0.5/relink";
      const failing = {
        ...core.deps,
        keyHolders: async () => {
          throw new Error(`key holder directory unavailable: ${secret}`);
        },
      };
      const a = await serve(new Request("http://hub.test/trpc/network.info"), failing);
      expectRefused(a, "INTERNAL_SERVER_ERROR", 500, undefined);
      expect(a.error!.message).toBe("internal error");
      expect(a.text).not.toContain("s3cr3t");
      expect(a.text).not.toContain("10.0.0.5");
    });
  });
  describe("abuse controls (ADR 0045): admin procedures, alerts over the API, the conduct window", () => {
    const get = (secretKey: Uint8Array, path: string, input: unknown) =>
      serve(
        toRequest(
          signRequest(secretKey, {
            method: "GET",
            path: `/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`,
            timestampMs: core.clock().getTime(),
          }),
        ),
      );

    it("a honeytoken lookup shows up in admin.alerts with the member and the receipt; members cannot read it", async () => {
      const prober = await onboardTestMember(core, { slug: "api-prober", capabilities: ["collector"] });
      const planted = await mutate(adminSecret, "admin.plantHoneytokens", {
        epoch: 1,
        tags: [tag(77)],
        note: "api test synthetic identity",
      });
      expect(planted.status, planted.text).toBe(200);
      expectRefused(
        await mutate(prober.secretKey, "admin.plantHoneytokens", { epoch: 1, tags: [tag(78)], note: "x" }),
        "UNAUTHORIZED",
        401,
        "UNKNOWN_KEY",
      );
      const looked = await mutate(prober.secretKey, "lookup.run", lookup({ tags: [tag(77)] }));
      expect(looked.status, looked.text).toBe(200);
      const data = looked.data as { conduct: unknown; receipt: { index: number } };
      expect(data.conduct).toMatchObject({
        noContactFrom: "22:00",
        noContactUntil: "08:00",
        utcOffset: "+08:00",
      });
      const alerts = await get(adminSecret, "admin.alerts", { sinceDays: 1 });
      expect(alerts.status, alerts.text).toBe(200);
      const body = alerts.data as {
        alerts: { member: string; kind: string; relatedLeaf: number }[];
        sanctions: { member: string; step: string; auditLeaf: number | null }[];
      };
      expect(body.alerts).toContainEqual(
        expect.objectContaining({
          member: "api-prober",
          kind: "honeytoken.lookup",
          relatedLeaf: data.receipt.index,
        }),
      );
      expect(body.sanctions).toContainEqual(
        expect.objectContaining({ member: "api-prober", step: "suspend" }),
      );
      // Each step carries its own `sanction.applied` leaf, after the lookup that triggered it.
      for (const x of body.sanctions.filter((x) => x.member === "api-prober"))
        expect(x.auditLeaf).toBeGreaterThan(data.receipt.index);
      expectRefused(await get(prober.secretKey, "admin.alerts", {}), "UNAUTHORIZED", 401, "UNKNOWN_KEY");
      expectRefused(await get(lender.secretKey, "admin.alerts", {}), "UNAUTHORIZED", 401, "UNKNOWN_KEY");
    });

    it("admin.registerOptOuts validates its reference like consent references", async () => {
      const bad = await mutate(adminSecret, "admin.registerOptOuts", {
        epoch: 1,
        tags: [tag(80)],
        requestReference: "DPO\u202E-1",
      });
      expectRefused(bad, "BAD_REQUEST", 400, "BAD_INPUT");
      expect(bad.error!.data.relink?.field).toBe("requestReference");
      const ok = await mutate(adminSecret, "admin.registerOptOuts", {
        epoch: 1,
        tags: [tag(80)],
        requestReference: "DPO-2026-7",
      });
      expect((ok.data as { registered: number }).registered).toBe(1);
    });
  });

  describe("member.rotateKey (ADR 0068)", () => {
    /** The rotation input for `newSecret`, proved for `oldSecret` (the key that signs the request). */
    function rotation(
      member: TestMember,
      memberId: string,
      newSecret: Uint8Array,
      oldSecret = member.secretKey,
    ) {
      const signer = ed25519SignerFor(newSecret);
      const nonce = seededBytes(newSecret[0]! + 900)(16);
      const timestampMs = core.clock().getTime();
      const statement = {
        networkId: "relink.test",
        memberId,
        oldKeyFingerprint: keyFingerprint("ed25519", ed25519.getPublicKey(oldSecret)),
        newPublicKey: signer.publicKey,
        timestampMs,
        nonce,
      };
      return rotateKeyRequest(statement, proveKeyPossession(signer, statement));
    }

    it("rotates over the wire: the new key signs, the old one is UNKNOWN_KEY at once", async () => {
      const m = await onboardTestMember(core, { slug: "api-rotating" });
      const me = (await query(m.secretKey, "network.whoami")).data as { id: string };
      const next = seededBytes(7101)(32);
      const r = await mutate(m.secretKey, "member.rotateKey", rotation(m, me.id, next));
      expect(r.status, r.text).toBe(200);
      expect(r.data).toMatchObject({ memberId: me.id, rotatedAt: NOW });
      expect((await query(next, "network.whoami")).data).toMatchObject({ slug: "api-rotating" });
      expectRefused(await query(m.secretKey, "network.whoami"), "UNAUTHORIZED", 401, "UNKNOWN_KEY");
      // The revoked key cannot rotate again, nor come back.
      expectRefused(
        await mutate(m.secretKey, "member.rotateKey", rotation(m, me.id, seededBytes(7102)(32))),
        "UNAUTHORIZED",
        401,
        "UNKNOWN_KEY",
      );
      const back = await mutate(next, "member.rotateKey", rotation(m, me.id, m.secretKey, next));
      expectRefused(back, "CONFLICT", 409, "CONFLICT");
      expect(back.error!.data.relink?.field).toBe("newPublicKey");
    });

    it("refuses a bad proof (400, field proof), a malformed key (400) and the administrator's key (401)", async () => {
      const m = await onboardTestMember(core, { slug: "api-rotating-bad" });
      const me = (await query(m.secretKey, "network.whoami")).data as { id: string };
      const good = rotation(m, me.id, seededBytes(7103)(32));
      const badProof = await mutate(m.secretKey, "member.rotateKey", {
        ...good,
        proof: rotation(m, me.id, seededBytes(7104)(32)).proof,
      });
      expectRefused(badProof, "BAD_REQUEST", 400, "BAD_INPUT");
      expect(badProof.error!.data.relink?.field).toBe("proof");
      const badKey = await mutate(m.secretKey, "member.rotateKey", { ...good, newPublicKey: b64(32, 0) });
      expectRefused(badKey, "BAD_REQUEST", 400, "BAD_INPUT");
      expect(badKey.error!.data.relink?.field).toBe("newPublicKey");
      expectRefused(await mutate(adminSecret, "member.rotateKey", good), "UNAUTHORIZED", 401, "UNKNOWN_KEY");
      // nothing changed: the member's key still signs
      expect((await query(m.secretKey, "network.whoami")).status).toBe(200);
    });
  });
});
