/**
 * The hub's scheduled self-audit (threat T6): re-runs `verifyStoredLog` — every stored leaf re-hashed, every
 * stored subtree hash recomputed, every checkpoint's signature and root checked (RFC 9162 §2.1, C2SP
 * signed notes) — on a cadence, keeps the latest result for the health endpoint, and raises an alert (an
 * `error` log event) when the stored log no longer matches what was signed. The append-only triggers stop
 * ordinary writes; this catches what a superuser or a restored backup changes behind them.
 */
import type { VerifierKey } from "@relink/tlog";
import type { AuditLogDeps } from "./audit-log.ts";
import { type StoredLogVerification, verifyStoredLog } from "./audit-log.ts";

export interface IntegrityLogger {
  info(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export interface LogIntegrityStatus {
  /** "unknown" until the first run has finished. */
  state: "unknown" | "ok" | "failed";
  checkedAt?: Date;
  /** Leaves and checkpoints covered by the last run (when it passed). */
  size?: bigint;
  checkpoints?: number;
  /** When it failed: the problem, the first bad index or checkpoint, and a message. */
  problem?: Extract<StoredLogVerification, { ok: false }>["problem"] | "error";
  index?: bigint;
  checkpointSize?: bigint;
  message?: string;
  runs: number;
  failures: number;
}

/**
 * `tick()` runs one audit (never two at once) when `intervalMs` has passed since the last one by the
 * injected clock; `run()` runs one now. `status()` is the latest result.
 */
export function createLogIntegrityMonitor(
  deps: Pick<AuditLogDeps, "db" | "clock"> & { log: IntegrityLogger },
  trust: { logKey: VerifierKey; witnesses?: readonly VerifierKey[] },
  options: { intervalMs: number; pageSize?: number },
): { tick(): Promise<LogIntegrityStatus>; run(): Promise<LogIntegrityStatus>; status(): LogIntegrityStatus } {
  let status: LogIntegrityStatus = { state: "unknown", runs: 0, failures: 0 };
  let last = Number.NEGATIVE_INFINITY;
  let running: Promise<LogIntegrityStatus> | undefined;
  const once = async (): Promise<LogIntegrityStatus> => {
    const checkedAt = deps.clock();
    last = checkedAt.getTime();
    let v: StoredLogVerification | { ok: false; problem: "error"; message: string };
    try {
      v = await verifyStoredLog(
        { db: deps.db },
        trust,
        options.pageSize === undefined ? {} : { pageSize: options.pageSize },
      );
    } catch (error) {
      v = { ok: false, problem: "error", message: String(error) };
    }
    const runs = status.runs + 1;
    if (v.ok) {
      status = {
        state: "ok",
        checkedAt,
        size: v.size,
        checkpoints: v.checkpoints,
        runs,
        failures: status.failures,
      };
      deps.log.info("audit.integrity_ok", { size: v.size.toString(), checkpoints: v.checkpoints });
    } else {
      status = {
        state: "failed",
        checkedAt,
        problem: v.problem,
        message: v.message,
        ...("index" in v && v.index !== undefined ? { index: v.index } : {}),
        ...("checkpointSize" in v && v.checkpointSize !== undefined
          ? { checkpointSize: v.checkpointSize }
          : {}),
        runs,
        failures: status.failures + 1,
      };
      // The alert: operators page on this event (docs/runbooks/hub.md).
      deps.log.error("audit.integrity_failed", {
        problem: v.problem,
        index: status.index?.toString(),
        checkpointSize: status.checkpointSize?.toString(),
        message: v.message,
      });
    }
    return status;
  };
  const run = (): Promise<LogIntegrityStatus> => {
    running ??= once().finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    run,
    tick: async () => (deps.clock().getTime() - last >= options.intervalMs ? run() : status),
    status: () => status,
  };
}
