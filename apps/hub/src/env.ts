/**
 * The hub's environment, parsed once with zod at the composition root (main.ts): every variable the hub
 * reads apart from the database's (`dbConfigFromEnv`, packages/db). An empty variable counts as unset. A value
 * that does not parse — `HUB_PORT=abc`, a negative interval, a witness entry without a URL — is a `HubEnvError`
 * naming the variable and what it must be, never a NaN that reaches `listen` or a timer.
 */
import { parseVerifierKey, type VerifierKey } from "@relink/tlog";
import { z } from "zod";

export const DEFAULT_LOG_ORIGIN = "relink.example/audit-log/v1";

export class HubEnvError extends Error {
  override readonly name = "HubEnvError";
  /** The environment variable that was wrong. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}

/** A whole number within [min, max], written in decimal digits only. */
const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const witnessList = z.string().transform((text, ctx): { key: VerifierKey; url: string }[] => {
  const out: { key: VerifierKey; url: string }[] = [];
  for (const entry of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [vkey, url, extra] = entry.split(/\s+/);
    if (!vkey || !url || extra !== undefined) {
      ctx.addIssue({ code: "custom", message: "entries are '<vkey> <url>', comma-separated" });
      return z.NEVER;
    }
    try {
      new URL(url);
      out.push({ key: parseVerifierKey(vkey), url });
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `entry '${entry.slice(0, 80)}': ${(error as Error).message}` });
      return z.NEVER;
    }
  }
  return out;
});

const schema = z.object({
  HUB_HOST: z.string().default("127.0.0.1"),
  HUB_PORT: wholeNumber(0, 65_535).default(7400),
  RELINK_DATA_DIR: z.string().default(".relink/db"),
  RELINK_LOG_KEY_FILE: z.string().optional(),
  RELINK_LOG_ORIGIN: z.string().default(DEFAULT_LOG_ORIGIN),
  RELINK_LOG_WITNESSES: witnessList.default([]),
  RELINK_LOG_CHECKPOINT_INTERVAL_MS: wholeNumber(0, 2 ** 31 - 1).default(10_000),
  RELINK_LOG_INTEGRITY_INTERVAL_MS: wholeNumber(0, 2 ** 31 - 1).default(3_600_000),
  RELINK_NETWORK_CONFIG: z.string().optional(),
  // Key holders' long poll on the member directory (ADR 0038): version read cadence and longest wait.
  RELINK_DIRECTORY_POLL_MS: wholeNumber(1, 60_000).default(200),
  RELINK_DIRECTORY_MAX_WAIT_MS: wholeNumber(0, 600_000).default(30_000),
  RELINK_PORTAL: z.enum(["0", "1"], "must be 0 or 1").default("0"),
  RELINK_PORTAL_URL: z.url("must be a URL").optional(),
});

export type HubEnv = z.output<typeof schema>;

/** Parses the hub's variables from `env`; throws HubEnvError for the first one that is wrong. */
export function parseHubEnv(env: NodeJS.ProcessEnv): HubEnv {
  const present: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") present[key] = value;
  }
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const variable = String(issue.path[0] ?? "environment");
  const shown = present[variable] === undefined ? "" : `, got '${present[variable]!.slice(0, 80)}'`;
  throw new HubEnvError(variable, `${issue.message}${shown}`);
}
