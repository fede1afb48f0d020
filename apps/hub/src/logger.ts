import type { HubLogger } from "./http.ts";

/** JSON-lines logger. Callers pass event names and non-personal fields only. */
export function jsonLogger(
  write: (line: string) => void = (l) => process.stdout.write(l),
  clock = () => new Date(),
): HubLogger {
  const emit = (level: string, event: string, fields?: Record<string, unknown>) =>
    write(`${JSON.stringify({ t: clock().toISOString(), level, event, ...fields })}\n`);
  return {
    info: (e, f) => emit("info", e, f),
    warn: (e, f) => emit("warn", e, f),
    error: (e, f) => emit("error", e, f),
  };
}
