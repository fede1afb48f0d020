/** Typed errors the repositories raise; core maps them to API errors in one place. */

export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
  readonly entity: string;
  readonly key: string;
  constructor(entity: string, key: string) {
    super(`${entity} not found: ${key}`);
    this.entity = entity;
    this.key = key;
  }
}

export class ConflictError extends Error {
  override readonly name = "ConflictError";
  readonly entity: string;
  readonly field: string;
  constructor(entity: string, field: string, message: string) {
    super(`${entity}.${field}: ${message}`);
    this.entity = entity;
    this.field = field;
  }
}

/** PostgreSQL SQLSTATE of an error from either driver, if it carries one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export const SQLSTATE = {
  uniqueViolation: "23505",
  foreignKeyViolation: "23503",
  checkViolation: "23514",
} as const;
