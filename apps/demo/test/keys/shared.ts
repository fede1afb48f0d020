/**
 * What the key suites (keys.e2e.test.ts) share: the network they run against and a member spec of their own
 * for each suite, so that suites sharing one network never touch each other's members.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { MemberSpec, RunningNetwork } from "../../src/network.ts";

export const KEYS_NETWORK_ID = "relink-keys";
/**
 * The key holders' directory cache lifetime: 10 minutes, so a holder refuses a revoked key in time only
 * through the hub's push (ADR 0038), never through its cache turning over.
 */
export const KEYS_TTL_SECONDS = 600;
/**
 * How long a suite waits for every holder to refuse a revoked key: well inside half the cache lifetime (a
 * refusal then cannot come from the cache turning over), and within the test bound (RELINK_TEST_TIMEOUT_MS).
 */
export const KEYS_DEADLINE_MS = Math.min(
  Number(process.env["RELINK_TEST_TIMEOUT_MS"] || 900_000),
  (KEYS_TTL_SECONDS * 1000) / 2,
);

export interface KeysNetwork {
  backend: "pglite" | "postgres";
  /** The running network (started by keys.e2e.test.ts's beforeAll). */
  net(): RunningNetwork;
  /** The suite's own working directory in the network's directory. */
  dir(suite: string): string;
}

/** `base` as the suite's own member: its slug and name prefixed with the suite's name. */
export function suiteMember<M extends MemberSpec>(suite: string, base: M): MemberSpec {
  return { ...base, slug: `${suite}-${base.slug}`, name: `${base.name} ${suite}` };
}

/** Creates the suite's working directory and returns a function naming files in it. */
export function suiteFiles(ctx: KeysNetwork, suite: string): (name: string) => string {
  const d = ctx.dir(suite);
  mkdirSync(d, { recursive: true });
  return (name) => join(d, name);
}
