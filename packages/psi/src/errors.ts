/**
 * Typed errors of @relink/psi. Malformed input throws one of these; a well-formed but invalid proof makes
 * the low-level verifier return `false` and the threshold combiner throw {@link InvalidProofError} naming
 * the holder (parse once at the edge; malformed input throws a typed error).
 */

export type PsiErrorCode =
  | "invalid-encoding"
  | "identity-element"
  | "invalid-scalar"
  | "invalid-input"
  | "invalid-proof"
  | "unknown-holder"
  | "duplicate-holder"
  | "insufficient-holders"
  | "epoch-mismatch"
  | "dkg-complaint"
  | "dkg-failure"
  | "label-open-failed"
  | "invalid-label"
  | "pool-closed";

export class PsiError extends Error {
  readonly code: PsiErrorCode;
  constructor(code: PsiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PsiError";
    this.code = code;
  }
}

/** Wrong length or non-canonical encoding of a group element or scalar. */
export class InvalidEncodingError extends PsiError {
  constructor(message: string) {
    super("invalid-encoding", message);
    this.name = "InvalidEncodingError";
  }
}

/** The identity element where RFC 9497 §3.3 requires a non-identity element (or a zero-scalar result). */
export class IdentityElementError extends PsiError {
  constructor(message: string) {
    super("identity-element", message);
    this.name = "IdentityElementError";
  }
}

/** A scalar that is zero where a non-zero one is required (keys, blinds). */
export class InvalidScalarError extends PsiError {
  constructor(message: string) {
    super("invalid-scalar", message);
    this.name = "InvalidScalarError";
  }
}

/** Application-level input out of range (network id, epoch, identifier, batch size). */
export class InvalidInputError extends PsiError {
  constructor(message: string) {
    super("invalid-input", message);
    this.name = "InvalidInputError";
  }
}

/** A holder's DLEQ proof did not verify. */
export class InvalidProofError extends PsiError {
  readonly holder: number;
  constructor(holder: number) {
    super("invalid-proof", `DLEQ proof of holder ${holder} does not verify`);
    this.name = "InvalidProofError";
    this.holder = holder;
  }
}

export class UnknownHolderError extends PsiError {
  readonly holder: number;
  constructor(holder: number) {
    super("unknown-holder", `response from unknown holder index ${holder}`);
    this.name = "UnknownHolderError";
    this.holder = holder;
  }
}

export class DuplicateHolderError extends PsiError {
  readonly holder: number;
  constructor(holder: number) {
    super("duplicate-holder", `more than one response from holder ${holder}`);
    this.name = "DuplicateHolderError";
    this.holder = holder;
  }
}

export class InsufficientHoldersError extends PsiError {
  constructor(got: number, threshold: number) {
    super("insufficient-holders", `${got} holder response(s), threshold is ${threshold}`);
    this.name = "InsufficientHoldersError";
  }
}

/** A message, key or response belongs to another network or epoch than the one in use. */
export class EpochMismatchError extends PsiError {
  constructor(message: string) {
    super("epoch-mismatch", message);
    this.name = "EpochMismatchError";
  }
}

/** A DKG participant sent a share or broadcast that fails verification: `accused` is its index. */
export class DkgComplaintError extends PsiError {
  readonly accused: number;
  constructor(accused: number, reason: string) {
    super("dkg-complaint", `complaint against holder ${accused}: ${reason}`);
    this.name = "DkgComplaintError";
    this.accused = accused;
  }
}

/** A DKG call was malformed (wrong round, wrong message count, bad parameters). */
export class DkgError extends PsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("dkg-failure", message, options);
    this.name = "DkgError";
  }
}

/** AEAD open failed: tampered ciphertext, wrong key or associated data mismatch. */
export class LabelOpenError extends PsiError {
  constructor(message = "sealed label failed authentication") {
    super("label-open-failed", message);
    this.name = "LabelOpenError";
  }
}

/** A label plaintext that is malformed, oversize or out of range. */
export class InvalidLabelError extends PsiError {
  constructor(message: string) {
    super("invalid-label", message);
    this.name = "InvalidLabelError";
  }
}

export class PoolClosedError extends PsiError {
  constructor() {
    super("pool-closed", "the OPRF worker pool is closed");
    this.name = "PoolClosedError";
  }
}
