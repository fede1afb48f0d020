/** JSON-lines logger. Callers pass event names and non-personal fields only (slugs, counts, codes). */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(
  write: (line: string) => void = (l) => process.stdout.write(l),
  clock = () => new Date(),
  base: Record<string, unknown> = {},
): Logger {
  const emit = (level: string, event: string, fields?: Record<string, unknown>) =>
    write(`${JSON.stringify({ t: clock().toISOString(), level, event, ...base, ...fields })}\n`);
  return {
    info: (e, f) => emit("info", e, f),
    warn: (e, f) => emit("warn", e, f),
    error: (e, f) => emit("error", e, f),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
