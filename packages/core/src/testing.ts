/**
 * Test harness for code built on core (core's own tests, api's tests): real use-case dependencies over a
 * per-file database on each backend — the real audit log with a real Ed25519 log key and no witnesses, a
 * fixed clock the test moves by hand, log lines captured — and members whose requests are signed exactly
 * as the SDK signs them (packages/sdk/src/signing.ts). Nothing here is a stand-in for a named component.
 * Not exported from the package root: import `@relink/core/testing`.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type Database, listAuditLeaves } from "@relink/db";
import { maskKeyPair } from "@relink/he";
import {
  attestConsent,
  type ConsentRecord,
  type ErrorCode,
  type ExposureTask,
  exposureBookMessage,
  hubAudience,
  keyFingerprint,
  type LookupInput,
  NONCE_BYTES,
  type OnboardMemberInput,
  RelinkError,
  requestSigningMessage,
  SIGNATURE_HEADERS,
  toBase64Url,
  type UnsignedConsentRecord,
} from "@relink/protocol";
import { seededRng } from "@relink/psi/testing";
import {
  type AuditEvent,
  decodeAuditEvent,
  formatVerifierKey,
  generateSignerKey,
  type SignerKey,
  verifierOf,
} from "@relink/tlog";
import type { Kysely } from "kysely";
import { expect } from "vitest";
import { createAuditLog } from "./audit/adapter.ts";
import type { AuditLogDeps } from "./audit/audit-log.ts";
import { type AuthenticatedMember, authenticateMemberRequest, type UnverifiedRequest } from "./auth.ts";
import { VerifiedProofCache } from "./consent-proofs.ts";
import type { CoreDeps, KeyHolderDirectory, NetworkPolicy } from "./context.ts";
import { declareExposureBook } from "./exposure/book.ts";
import { DEFAULT_EXPOSURE_POLICY } from "./exposure/policy.ts";
import { pollExposureTasks } from "./exposure/query.ts";
import { registerExposureSubjects, registerMaskKey } from "./exposure/subjects.ts";
import { onboardMember } from "./members.ts";

export { type Backend, describeEachBackend, type TestDb } from "@relink/db/testing";
export * from "./testing-consent-proofs.ts";

/** Awaits `p` and asserts it was refused with a RelinkError of `code` (naming `field` when given); returns it. */
export async function expectCode(p: Promise<unknown>, code: ErrorCode, field?: string): Promise<RelinkError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(RelinkError);
  expect((error as RelinkError).code).toBe(code);
  if (field !== undefined) expect((error as RelinkError).details.field).toBe(field);
  return error as RelinkError;
}

/**
 * Deterministic bytes for keys: every call answers the first request of seededRng(seed) (@relink/psi/testing,
 * the tests' one seeded source, ADR 0067), so a key is a function of its seed alone and no test depends on luck.
 */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  return (n) => seededRng(seed)(n);
}

export interface TestClock {
  (): Date;
  set(at: Date | string): void;
  advance(ms: number): void;
}

/** A clock that stands still until the test moves it. */
export function fixedClock(start: Date | string): TestClock {
  let now = new Date(start).getTime();
  const clock = (() => new Date(now)) as TestClock;
  clock.set = (at) => {
    now = new Date(at).getTime();
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

export interface LogLine {
  level: "info" | "warn" | "error";
  event: string;
  fields: Record<string, unknown>;
}

export const TEST_LOG_ORIGIN = "relink.test/audit-log/v1";

export interface TestCore {
  deps: CoreDeps;
  clock: TestClock;
  /** Every line the use cases logged, in order. */
  logLines: LogLine[];
  auditDeps: AuditLogDeps;
  /** The log's verifier key as a receipt verifier pins it (no witnesses: k = 0). */
  logVerifierKey: string;
}

export const TEST_KEY_HOLDERS: KeyHolderDirectory = {
  groupPublicKey: toBase64Url(new Uint8Array(32).fill(7)),
  holders: [1, 2, 3].map((index) => ({
    index,
    url: `http://holder-${index}.invalid`,
    publicShare: toBase64Url(new Uint8Array(32).fill(index)),
  })),
};

export function createTestCore(
  db: Kysely<Database>,
  options: { now?: Date | string; policy?: Partial<NetworkPolicy>; logKey?: SignerKey } = {},
): TestCore {
  const clock = fixedClock(options.now ?? "2026-11-26T09:30:00.000Z");
  const logLines: LogLine[] = [];
  const line =
    (level: LogLine["level"]) =>
    (event: string, fields: Record<string, unknown> = {}) => {
      logLines.push({ level, event, fields });
    };
  const log = { info: line("info"), warn: line("warn"), error: line("error") };
  const signer = options.logKey ?? generateSignerKey(TEST_LOG_ORIGIN, seededBytes(1));
  const auditDeps: AuditLogDeps = {
    db,
    signer,
    witnesses: [],
    requestCosignature: async () => {
      throw new Error("no witnesses are configured in tests");
    },
    clock,
    log,
  };
  const deps: CoreDeps = {
    db,
    clock,
    log,
    audit: createAuditLog({ ...auditDeps, softwareVersion: "relink-test-0.0.0" }),
    policy: {
      networkId: TEST_NETWORK_ID,
      epoch: 1,
      threshold: 2,
      retentionDays: 730,
      lookupCapability: "collector",
      ...options.policy,
    },
    keyHolders: async () => TEST_KEY_HOLDERS,
    verifiedProofs: new VerifiedProofCache(),
  };
  return { deps, clock, logLines, auditDeps, logVerifierKey: formatVerifierKey(verifierOf(signer)) };
}

// ------------------------------------------------------------------------------------------ signed requests

/** The network id of createTestCore's policy; requests to its hub are signed for hubAudience of it. */
export const TEST_NETWORK_ID = "relink.test";

export interface RequestToSign {
  /** Default: the test core's hub (hubAudience(TEST_NETWORK_ID)). */
  audience?: string;
  method: string;
  path: string;
  body?: Uint8Array | string;
  timestampMs: number;
  nonce?: Uint8Array;
}

export interface SignedRequest {
  method: string;
  path: string;
  body: Uint8Array;
  headers: Record<string, string>;
}

function bodyBytes(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array();
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

/** Signs a request as packages/sdk/src/signing.ts does: the four x-relink-* headers over the exact bytes. */
export function signRequest(secretKey: Uint8Array, r: RequestToSign): SignedRequest {
  const fingerprint = keyFingerprint("ed25519", ed25519.getPublicKey(secretKey));
  const body = bodyBytes(r.body);
  const nonce = r.nonce ?? crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const method = r.method.toUpperCase();
  const audience = r.audience ?? hubAudience(TEST_NETWORK_ID);
  const message = requestSigningMessage({
    audience,
    method,
    path: r.path,
    bodySha256: sha256(body),
    timestampMs: r.timestampMs,
    nonce,
    keyFingerprint: fingerprint,
  });
  return {
    method,
    path: r.path,
    body,
    headers: {
      [SIGNATURE_HEADERS.key]: toBase64Url(fingerprint),
      [SIGNATURE_HEADERS.timestamp]: String(r.timestampMs),
      [SIGNATURE_HEADERS.nonce]: toBase64Url(nonce),
      [SIGNATURE_HEADERS.signature]: toBase64Url(ed25519.sign(message, secretKey)),
      [SIGNATURE_HEADERS.audience]: audience,
    },
  };
}

/** The request as a transport hands it to core: header names are case-insensitive. */
export function unverifiedRequest(r: SignedRequest): UnverifiedRequest {
  const headers = new Map(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: r.method, path: r.path, body: r.body, header: (name) => headers.get(name.toLowerCase()) };
}

// ----------------------------------------------------------------------------------------------- members

export interface TestMember {
  slug: string;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  /** A freshly signed request by this member at the core clock's time. */
  sign(method: string, path: string, body?: Uint8Array | string): SignedRequest;
  /** Authenticates a fresh signed request through the real `authenticateMemberRequest`. */
  authenticate(): Promise<AuthenticatedMember>;
}

let memberSeed = 1000;
/** Request-signing secret keys of the members onboarded here, by member id (to sign consent attestations). */
const secretKeys = new Map<string, Uint8Array>();

/** A consent record before attest(): the member's consent to `tag` under `reference`. */
export type UnsignedTestConsent = Omit<ConsentRecord, "caseCommitment" | "attestation">;

/** Contact data for debt collection, by consent, granted 2026-01-01 and expiring 2027-01-01 unless `over` says. */
export function testConsent(
  tag: Uint8Array,
  reference: string,
  over: Partial<UnsignedTestConsent> = {},
): UnsignedTestConsent {
  return {
    reference,
    tag: toBase64Url(tag),
    purpose: "debt_collection",
    legalBasis: "consent",
    dataCategories: ["contact"],
    grantedAt: "2026-01-01T00:00:00Z",
    expiresAt: "2027-01-01T00:00:00Z",
    evidenceHash: toBase64Url(sha256(new TextEncoder().encode(`evidence-${reference}`))),
    ...over,
  };
}

/** A debt-collection lookup of `tags` in epoch 1 for the case `caseId` (its SHA-256 as the commitment). */
export function testLookup(
  tags: readonly Uint8Array[],
  caseId: string,
  over: Partial<LookupInput> = {},
): LookupInput {
  return {
    epoch: 1,
    purpose: "debt_collection",
    tags: tags.map(toBase64Url),
    caseCommitment: toBase64Url(sha256(new TextEncoder().encode(caseId))),
    ...over,
  };
}

/**
 * Consent records as the SDK sends them: each signed (consent attestation) by the member's request key, with
 * a case commitment derived from the reference unless the record brings its own.
 */
export function attest(
  core: TestCore,
  who: AuthenticatedMember,
  records: readonly (Omit<UnsignedConsentRecord, "caseCommitment"> & { caseCommitment?: string })[],
): ConsentRecord[] {
  const secretKey = secretKeys.get(who.member.id);
  if (!secretKey) throw new Error(`member ${who.member.slug} was not onboarded by onboardTestMember`);
  const ctx = { networkId: core.deps.policy.networkId, memberId: who.member.id };
  return records.map((r) =>
    attestConsent(secretKey, ctx, {
      ...r,
      caseCommitment:
        r.caseCommitment ?? toBase64Url(sha256(new TextEncoder().encode(`case/${r.reference}`))),
    }),
  );
}

/** Onboards a member through the real use case, with a fresh Ed25519 request-signing key. */
export async function onboardTestMember(
  core: TestCore,
  input: Partial<OnboardMemberInput> & { slug: string },
): Promise<TestMember> {
  const secretKey = seededBytes(memberSeed++)(32);
  const publicKey = ed25519.getPublicKey(secretKey);
  const member = await onboardMember(core.deps, {
    displayName: `Test member ${input.slug}`,
    kind: "bank",
    capabilities: ["lender", "collector"],
    signingPublicKey: toBase64Url(publicKey),
    ...input,
  });
  secretKeys.set(member.id, secretKey);
  const sign = (method: string, path: string, body?: Uint8Array | string) =>
    signRequest(secretKey, { method, path, body, timestampMs: core.clock().getTime() });
  return {
    slug: input.slug,
    secretKey,
    publicKey,
    sign,
    authenticate: () =>
      authenticateMemberRequest(core.deps, unverifiedRequest(sign("POST", "/trpc/test", "{}"))),
  };
}

/** Onboards a member and authenticates it once: the caller most use-case calls in a test act as. */
export async function authenticatedTestMember(
  core: TestCore,
  input: Partial<OnboardMemberInput> & { slug: string },
): Promise<AuthenticatedMember> {
  return (await onboardTestMember(core, input)).authenticate();
}

/** Declares a lender's book size, signed with its key as the SDK does (exposure.declareBook). */
export async function declareTestBook(core: TestCore, member: TestMember, declaredSubjects: number) {
  const who = await member.authenticate();
  const message = exposureBookMessage(
    { networkId: core.deps.policy.networkId, memberId: who.member.id },
    { epoch: core.deps.policy.epoch, declaredSubjects },
  );
  return declareExposureBook(core.deps, who, {
    epoch: core.deps.policy.epoch,
    declaredSubjects,
    signature: toBase64Url(ed25519.sign(message, member.secretKey)),
  });
}

// ---------------------------------------------------------------------------------------- exposure lenders

export interface TestLender {
  slug: string;
  member: TestMember;
  memberId: string;
  /** The lender's mask key pair (exposure-he.md §2.3); registered at the hub unless `maskKey: false`. */
  maskSecret: Uint8Array;
  maskPublic: Uint8Array;
}

/**
 * Onboards a lender as a lender node sets itself up: a mask key registered, then — when `tags` are given —
 * a signed book declaration (`declare` subjects, default `tags.length`) and the tags registered in batches.
 * Registrations count towards k only once seasoned (seasonRegistrations).
 */
export async function onboardTestLender(
  core: TestCore,
  input: Partial<OnboardMemberInput> & { slug: string },
  options: { tags?: readonly Uint8Array[]; declare?: number; maskKey?: boolean } = {},
): Promise<TestLender> {
  const member = await onboardTestMember(core, { capabilities: ["lender"], ...input });
  const keys = maskKeyPair();
  const lender: TestLender = {
    slug: input.slug,
    member,
    memberId: (await member.authenticate()).member.id,
    maskSecret: keys.secretKey,
    maskPublic: keys.publicKey,
  };
  if (options.maskKey !== false) {
    await registerMaskKey(core.deps, await member.authenticate(), toBase64Url(lender.maskPublic));
  }
  if (options.tags) {
    const tags = options.tags.map(toBase64Url);
    await declareTestBook(core, member, options.declare ?? tags.length);
    for (let at = 0; at < tags.length; at += 5000) {
      await registerExposureSubjects(core.deps, await member.authenticate(), {
        epoch: core.deps.policy.epoch,
        tags: tags.slice(at, at + 5000),
      });
    }
  }
  return lender;
}

/** Moves the clock an hour past the policy's minHoldingHours: registrations made so far count towards k. */
export function seasonRegistrations(core: TestCore): void {
  const hours = core.deps.policy.exposure?.minHoldingHours ?? DEFAULT_EXPOSURE_POLICY.minHoldingHours;
  core.clock.advance((hours + 1) * 3_600_000);
}

/** A lender node's loop: long-polls for tasks and hands each to `onTask` (awaited) until `signal` aborts. */
export async function serveExposureTasks(
  core: TestCore,
  member: TestMember,
  signal: AbortSignal,
  onTask: (task: ExposureTask) => Promise<void> | void,
): Promise<void> {
  while (!signal.aborted) {
    let tasks: ExposureTask[] = [];
    try {
      ({ tasks } = await pollExposureTasks(core.deps, await member.authenticate(), { waitMs: 300 }, signal));
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    for (const task of tasks) await onTask(task);
  }
}

// ------------------------------------------------------------------------------------------------- audit

export interface StoredAuditEvent {
  index: bigint;
  leaf: Uint8Array;
  event: AuditEvent;
}

/** The audit log as stored, decoded leaf by leaf (from `from` on). */
export async function storedAuditEvents(db: Kysely<Database>, from = 0n): Promise<StoredAuditEvent[]> {
  const out: StoredAuditEvent[] = [];
  for (let at = from; ; ) {
    const rows = await listAuditLeaves(db, at, 1000);
    for (const r of rows) out.push({ index: r.index, leaf: r.leaf, event: decodeAuditEvent(r.leaf) });
    if (rows.length < 1000) return out;
    at = rows[rows.length - 1]!.index + 1n;
  }
}
