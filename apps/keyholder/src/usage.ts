/**
 * The holder's own durable audit of evaluations per member, and the daily quota it enforces.
 *
 * `<data-dir>/usage.jsonl` (0600) is append-only JSON lines, one per metered request, fsynced before the
 * evaluation is answered:
 *   {"v":1,"t":ISO time,"day":"YYYY-MM-DD" (UTC),"memberId":uuid,"outcome":"evaluated"|"quota_exceeded",
 *    "count":n,"epoch":e,"nonce":"<key fingerprint>.<nonce>","ts":request timestamp ms}
 * It holds member ids and counts, never blinded elements. On start it is replayed to rebuild today's
 * counts (quota survives restarts) and the nonces still inside the skew window (replays stay refused
 * across a restart). A torn last line from a crash is skipped and the file is re-terminated.
 */
import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { MAX_CLOCK_SKEW_MS, RelinkError } from "@relink/protocol";
import type { Logger } from "@relink/protocol/http";
import type { NonceCache } from "./auth.ts";
import { SECRET_FILE_MODE } from "./files.ts";

export const USAGE_FILE = "usage.jsonl";

export type UsageOutcome = "evaluated" | "quota_exceeded";

export interface UsageEntry {
  v: 1;
  t: string;
  day: string;
  memberId: string;
  outcome: UsageOutcome;
  count: number;
  epoch: number;
  nonce: string;
  ts: number;
}

export interface UsageRow {
  day: string;
  memberId: string;
  /** Elements evaluated (each blinded element counts one). */
  evaluated: number;
  /** Elements asked for in requests refused for the quota. */
  refused: number;
}

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Seconds until the next UTC midnight, when a daily quota resets. */
export function secondsUntilNextUtcDay(ms: number): number {
  const d = new Date(ms);
  const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - ms) / 1000));
}

function isEntry(x: unknown): x is UsageEntry {
  const e = x as UsageEntry;
  return (
    typeof e === "object" &&
    e !== null &&
    e.v === 1 &&
    typeof e.day === "string" &&
    /^\d{4}-\d{2}-\d{2}$/.test(e.day) &&
    typeof e.memberId === "string" &&
    (e.outcome === "evaluated" || e.outcome === "quota_exceeded") &&
    Number.isSafeInteger(e.count) &&
    e.count >= 0 &&
    typeof e.nonce === "string" &&
    Number.isSafeInteger(e.ts)
  );
}

export class UsageLedger {
  readonly #path: string;
  readonly #fd: number;
  readonly #rows = new Map<string, UsageRow>();

  private constructor(path: string, fd: number) {
    this.#path = path;
    this.#fd = fd;
  }

  /** Opens (creating) the ledger, replays it into counts and re-remembers recent nonces. */
  static open(path: string, deps: { log: Logger; nonces: NonceCache; now: number }): UsageLedger {
    let text = "";
    if (existsSync(path)) text = readFileSync(path, "utf8");
    const fd = openSync(path, "a", SECRET_FILE_MODE);
    const ledger = new UsageLedger(path, fd);
    if (text.length > 0 && !text.endsWith("\n")) writeSync(fd, "\n");
    let skipped = 0;
    let lines = 0;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        skipped++;
        continue;
      }
      if (!isEntry(entry)) {
        skipped++;
        continue;
      }
      lines++;
      ledger.#add(entry);
      if (entry.ts + MAX_CLOCK_SKEW_MS > deps.now)
        deps.nonces.remember(entry.nonce, entry.ts + MAX_CLOCK_SKEW_MS, deps.now);
    }
    deps.log.info("usage.loaded", { entries: lines, ...(skipped ? { skipped } : {}) });
    if (skipped) deps.log.warn("usage.skipped_lines", { path, skipped });
    return ledger;
  }

  #add(e: UsageEntry): void {
    const key = `${e.day}|${e.memberId}`;
    let row = this.#rows.get(key);
    if (!row) {
      row = { day: e.day, memberId: e.memberId, evaluated: 0, refused: 0 };
      this.#rows.set(key, row);
    }
    if (e.outcome === "evaluated") row.evaluated += e.count;
    else row.refused += e.count;
  }

  evaluatedOn(day: string, memberId: string): number {
    return this.#rows.get(`${day}|${memberId}`)?.evaluated ?? 0;
  }

  #append(entry: UsageEntry): void {
    writeSync(this.#fd, `${JSON.stringify(entry)}\n`);
    fdatasyncSync(this.#fd);
    this.#add(entry);
  }

  /**
   * Meters `count` evaluations for a member against its daily quota: records and allows them, or records
   * the refusal and throws QUOTA_EXCEEDED with the seconds until the quota resets. Synchronous, so two
   * concurrent requests cannot both slip under the quota.
   */
  meter(
    a: { memberId: string; quota: number; count: number; epoch: number; nonce: string; ts: number },
    now: number,
  ): void {
    const day = utcDay(now);
    const used = this.evaluatedOn(day, a.memberId);
    const base = { v: 1 as const, t: new Date(now).toISOString(), day, memberId: a.memberId, count: a.count };
    const rest = { epoch: a.epoch, nonce: a.nonce, ts: a.ts };
    if (used + a.count > a.quota) {
      this.#append({ ...base, outcome: "quota_exceeded", ...rest });
      const retryAfterSeconds = secondsUntilNextUtcDay(now);
      throw new RelinkError(
        "QUOTA_EXCEEDED",
        `daily evaluation quota of ${a.quota} exceeded at this key holder (${used} used today, ${a.count} asked)`,
        { retryAfterSeconds },
      );
    }
    this.#append({ ...base, outcome: "evaluated", ...rest });
  }

  /** Per-member per-day counts, newest day first: member ids and counts only. */
  rows(): UsageRow[] {
    return [...this.#rows.values()]
      .map((r) => ({ ...r }))
      .sort((a, b) => (a.day === b.day ? a.memberId.localeCompare(b.memberId) : a.day < b.day ? 1 : -1));
  }

  get path(): string {
    return this.#path;
  }

  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
  }
}

// ------------------------------------------------------------------------------------ the holder's own caps

/**
 * The key holder's own per-member daily caps on evaluations (threat T1/T2: a collector tagging 11,000 guessed
 * identifiers). The hub's member directory carries each member's quota (default 50,000); every holder
 * also enforces its operator's cap — `default` for any member, `members[slug]` for named ones — and meters
 * against the smaller of the two, so a compromised or careless hub cannot raise a member's tagging rate
 * above what the independent holders allow. File (`--evaluation-caps FILE`, JSON):
 *   { "default": 500, "members": { "eastern-bank": 20000 } }
 */
export const DEFAULT_EVALUATION_CAP = 500;

export interface EvaluationCaps {
  default: number;
  members: Record<string, number>;
}

const capValue = (v: unknown, where: string): number => {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`${where}: expected an integer ≥ 0`);
  return v as number;
};

export function parseEvaluationCaps(json: unknown, source = "evaluation caps"): EvaluationCaps {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new Error(`${source}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== "default" && k !== "members") throw new Error(`${source}: unknown field '${k}'`);
  }
  const members: Record<string, number> = {};
  if (o["members"] !== undefined) {
    if (typeof o["members"] !== "object" || o["members"] === null || Array.isArray(o["members"]))
      throw new Error(`${source}: members: expected an object of slug → cap`);
    for (const [slug, v] of Object.entries(o["members"] as Record<string, unknown>)) {
      if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(slug))
        throw new Error(`${source}: members: '${slug}' is not a slug`);
      members[slug] = capValue(v, `${source}: members.${slug}`);
    }
  }
  return {
    default:
      o["default"] === undefined ? DEFAULT_EVALUATION_CAP : capValue(o["default"], `${source}: default`),
    members,
  };
}

export function loadEvaluationCaps(path: string): EvaluationCaps {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`evaluation caps ${path} cannot be read`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not JSON`);
  }
  return parseEvaluationCaps(json, path);
}

/** The daily evaluation quota this holder meters a member against: min(hub quota, holder cap). */
export function effectiveEvaluationQuota(
  caps: EvaluationCaps,
  member: { slug: string; dailyEvaluationQuota: number },
): number {
  return Math.min(member.dailyEvaluationQuota, caps.members[member.slug] ?? caps.default);
}
