/**
 * Set-up shared by the hub's tests over HTTP: a real hub (startHub, every route mounted) on each backend
 * with the test network, members onboarded through the real use case with their own Ed25519 keys, and
 * requests signed as the SDK signs them (`signRequest` of @relink/core/testing). Nothing here stands in
 * for a hub component.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { onboardMember } from "@relink/core";
import { signRequest } from "@relink/core/testing";
import type { DbConfig } from "@relink/db";
import { type Backend, freshPostgres, testDatabaseUrl } from "@relink/db/testing";
import { attestConsent, type ConsentRecord, type OnboardMemberInput, toBase64Url } from "@relink/protocol";
import type { Logger } from "@relink/protocol/http";
import type { SignerKey } from "@relink/tlog";
import { describe } from "vitest";
import { type RunningHub, startHub } from "../src/hub.ts";
import type { NetworkConfig } from "../src/network.ts";

export const BACKENDS = ["pglite", "postgres"] as const satisfies readonly Backend[];

/** `describe` for a backend: the PostgreSQL suite is skipped when TEST_DATABASE_URL is unset. */
export const suiteFor = (backend: Backend) =>
  backend === "postgres" && !testDatabaseUrl() ? describe.skip : describe;

/** The network of the hub tests; nothing listens at the key holder's address (those procedures answer UNAVAILABLE). */
export const TEST_NETWORK: NetworkConfig = {
  networkId: "relink.test",
  epoch: 1,
  threshold: 1,
  keyHolders: [{ index: 1, url: "http://127.0.0.1:9" }],
  retentionDays: 730,
  adminKeys: [],
};

const quiet = () => {};

export interface TestHub {
  hub: RunningHub;
  /** Closes the hub, then drops its PostgreSQL database (when it has one). */
  close(): Promise<void>;
}

/**
 * A hub on `backend` (PGlite, or a fresh PostgreSQL database the hub migrates) serving TEST_NETWORK with
 * `network`'s changes, an audit log signed by `signer` without witnesses or a checkpoint timer, no upkeep.
 */
export async function startTestHub(
  backend: Backend,
  options: {
    signer: SignerKey;
    log?: Logger;
    network?: Partial<NetworkConfig>;
    directoryWatch?: { pollMs?: number; maxWaitMs?: number };
  },
): Promise<TestHub> {
  let db: DbConfig = { kind: "pglite" };
  let closeDb: (() => Promise<void>) | undefined;
  if (backend === "postgres") {
    const pg = await freshPostgres(testDatabaseUrl()!, { migrate: false });
    db = { kind: "postgres", connectionString: pg.connectionString! };
    closeDb = () => pg.close();
  }
  try {
    const hub = await startHub({
      db,
      log: options.log ?? { info: quiet, warn: quiet, error: quiet },
      auditLog: { signer: options.signer, witnesses: [], checkpointIntervalMs: 0 },
      network: { ...TEST_NETWORK, ...options.network },
      upkeepIntervalMs: 0,
      ...(options.directoryWatch ? { directoryWatch: options.directoryWatch } : {}),
    });
    return {
      hub,
      close: async () => {
        await hub.close();
        await closeDb?.();
      },
    };
  } catch (error) {
    await closeDb?.();
    throw error;
  }
}

/** Onboards a member (a bank) through the real use case with `secretKey`'s public key; returns its id. */
export async function onboardHubMember(
  hub: RunningHub,
  secretKey: Uint8Array,
  input: Partial<OnboardMemberInput> & { slug: string },
): Promise<string> {
  const member = await onboardMember(hub.core!, {
    displayName: input.slug,
    kind: "bank",
    capabilities: ["lender", "collector"],
    signingPublicKey: toBase64Url(ed25519.getPublicKey(secretKey)),
    ...input,
  });
  return member.id;
}

/** A request to the hub, signed by `secretKey` over its exact bytes (unsigned without a key). */
export function hubFetch(
  hub: RunningHub,
  secretKey: Uint8Array | undefined,
  method: "GET" | "POST",
  path: string,
  body?: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const signed = secretKey && signRequest(secretKey, { method, path, body, timestampMs: Date.now() });
  const bytes = typeof body === "string" || body === undefined ? (body ?? "") : Uint8Array.from(body);
  return fetch(`${hub.url}${path}`, {
    method,
    headers: { ...signed?.headers, ...headers },
    ...(method === "POST" ? { body: bytes } : {}),
  });
}

/**
 * A signed tRPC call: a query (GET) without `input`, a mutation (POST, JSON) with it. Returns the result's
 * data; throws naming the procedure and the error code (or the HTTP status).
 */
export async function trpcCall<T>(
  hub: RunningHub,
  secretKey: Uint8Array,
  procedure: string,
  input?: unknown,
): Promise<T> {
  const path = `/trpc/${procedure}`;
  const res =
    input === undefined
      ? await hubFetch(hub, secretKey, "GET", path)
      : await hubFetch(hub, secretKey, "POST", path, JSON.stringify(input), {
          "content-type": "application/json",
        });
  const json = (await res.json()) as {
    result?: { data: T };
    error?: { data?: { relink?: { code: string } } };
  };
  if (!json.result) throw new Error(`${procedure}: ${json.error?.data?.relink?.code ?? res.status}`);
  return json.result.data;
}

/** The member node's CLI (`relink`), as a process: asynchronous, since the hub it talks to may run in this process. */
export const RELINK_CLI = join(import.meta.dirname, "../../member-node/src/cli.ts");

export function relinkCli(
  args: readonly string[],
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RELINK_CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("exit", (code) => resolve({ code, out, err }));
  });
}

/**
 * A consent record signed by the member (consent attestation, ADR 0045), as the SDK sends it: contact data
 * for debt collection by consent, granted 2026-01-01 and expiring 2030-01-01 unless `over` says; the
 * evidence hash and the case commitment are the SHA-256 of `evidence` and `caseId`.
 */
export function signedTestConsent(
  secretKey: Uint8Array,
  memberId: string,
  r: { reference: string; tag: Uint8Array; evidence: string; caseId: string },
  over: Partial<
    Pick<ConsentRecord, "purpose" | "legalBasis" | "dataCategories" | "grantedAt" | "expiresAt">
  > = {},
): ConsentRecord {
  const digest = (s: string) => toBase64Url(sha256(new TextEncoder().encode(s)));
  return attestConsent(
    secretKey,
    { networkId: TEST_NETWORK.networkId, memberId },
    {
      reference: r.reference,
      tag: toBase64Url(r.tag),
      purpose: "debt_collection",
      legalBasis: "consent",
      dataCategories: ["contact"],
      grantedAt: "2026-01-01T00:00:00Z",
      expiresAt: "2030-01-01T00:00:00Z",
      ...over,
      evidenceHash: digest(r.evidence),
      caseCommitment: digest(r.caseId),
    },
  );
}
