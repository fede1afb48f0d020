/**
 * Error codes every Relink service returns. One list, shared by hub, key holders and member nodes,
 * so a client can act on the code (retry later, re-consent, fix input) without parsing messages.
 */
export const ERROR_CODES = [
  "BAD_INPUT",
  "BAD_SIGNATURE",
  "STALE_REQUEST",
  "REPLAYED_REQUEST",
  "UNKNOWN_KEY",
  "MEMBER_SUSPENDED",
  "FORBIDDEN",
  "NO_CONSENT",
  "QUOTA_EXCEEDED",
  "NOT_FOUND",
  "CONFLICT",
  "WRONG_EPOCH",
  "TOO_FEW_HOLDERS",
  "PAYLOAD_TOO_LARGE",
  /** The service is up but not ready (key generation in progress, a dependency unreachable). */
  "UNAVAILABLE",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The HTTP status every service answers with for each code (tRPC's mapping in packages/api agrees). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_INPUT: 400,
  BAD_SIGNATURE: 401,
  STALE_REQUEST: 401,
  REPLAYED_REQUEST: 401,
  UNKNOWN_KEY: 401,
  MEMBER_SUSPENDED: 403,
  FORBIDDEN: 403,
  NO_CONSENT: 403,
  QUOTA_EXCEEDED: 429,
  NOT_FOUND: 404,
  CONFLICT: 409,
  WRONG_EPOCH: 412,
  TOO_FEW_HOLDERS: 503,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export interface WireError {
  code: ErrorCode;
  message: string;
  /** Seconds until a retry may succeed (quotas). */
  retryAfterSeconds?: number;
  /** Which input was wrong: row (1-based) and field, when it applies. */
  row?: number;
  field?: string;
}

/** A typed error carrying a wire error code; core throws these, transports map them. */
export class RelinkError extends Error {
  override readonly name = "RelinkError";
  readonly code: ErrorCode;
  readonly details: Omit<WireError, "code" | "message">;
  constructor(code: ErrorCode, message: string, details: Omit<WireError, "code" | "message"> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
  toWire(): WireError {
    return { code: this.code, message: this.message, ...this.details };
  }
}
