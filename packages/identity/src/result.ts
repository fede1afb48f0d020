/**
 * Result and error types shared by every parser in this package.
 *
 * Parsers return a discriminated union instead of throwing: invalid identifiers in member uploads are
 * expected data, not exceptional control flow, and the batch parser must collect every one of them.
 * Programming errors (an unsupported default region, a malformed row spec) still throw.
 *
 * Error messages never echo the input value: they may end up in logs, and the input is personal data.
 */

/** The four identifier kinds; each is the prefix of its canonical string. */
export type IdentifierKind = "cn-id" | "phone" | "email" | "name-dob";

/** Why a value was rejected. Stable codes: callers may switch on them and translate the message. */
export type ReasonCode =
  // any kind
  | "empty"
  | "not-a-string"
  | "invalid-character"
  // cn-id
  | "length"
  | "check-digit"
  | "region"
  // cn-id birth date and name-dob date of birth
  | "date-format"
  | "date-invalid"
  | "date-future"
  | "date-too-early"
  // phone
  | "too-short"
  | "too-long"
  | "invalid-number"
  | "ambiguous-country-code"
  // email
  | "missing-at"
  | "multiple-at"
  | "local-part"
  | "domain"
  // name-dob
  | "name-too-long";

export interface IdentifierError {
  kind: IdentifierKind;
  /** The input field (column) that holds the bad value; defaults to the kind for single-value calls. */
  field: string;
  reason: ReasonCode;
  /** Human-readable English explanation; never contains the input value. */
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: IdentifierError };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T>(
  kind: IdentifierKind,
  field: string | undefined,
  reason: ReasonCode,
  message: string,
): ParseResult<T> {
  return { ok: false, error: { kind, field: field ?? kind, reason, message } };
}
