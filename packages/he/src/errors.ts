/**
 * Typed errors of @relink/he. Every failure — bad input, a malicious key or ciphertext, or an exception
 * thrown inside SEAL's WebAssembly — surfaces as an {@link HeError} with a stable `code`; nothing from
 * SEAL (a `WebAssembly.Exception` whose message is a `[type, text]` pair) escapes this package.
 */

export type HeErrorCode =
  /** node-seal could not be loaded or a context could not be built. */
  | "init-failed"
  /** A preset id this build does not know. */
  | "unknown-preset"
  /** Object or bytes of one preset used with another preset's context. */
  | "preset-mismatch"
  /** A value outside the documented range (never reduced mod t). */
  | "out-of-range"
  /** More values than slots, or not an integer. */
  | "invalid-input"
  /** Bytes larger than the largest valid object of that kind, refused before parsing. */
  | "oversize"
  /** Bytes that are not a well-formed envelope or SEAL object (truncated, wrong magic, bad header, …). */
  | "malformed"
  /** An envelope of another kind (e.g. a ciphertext where a public key was expected). */
  | "wrong-kind"
  /** A SEAL object of other encryption parameters (parms_id, degree, modulus count) or of the wrong size. */
  | "wrong-parameters"
  /** A public key whose polynomials are all zero. */
  | "zero-key"
  /** A public key that fails the entropy criterion (ADR 0030). */
  | "low-entropy-key"
  /** A transparent (or near-transparent) ciphertext: its second polynomial carries no randomness. */
  | "transparent-ciphertext"
  /** The ciphertext's noise budget is exhausted: decryption would return garbage. */
  | "noise-exhausted"
  /** An operation the preset's noise budget cannot carry (e.g. a vector plain-multiplier on an add preset). */
  | "unsupported"
  /** A key or ciphertext used after `dispose()`. */
  | "disposed"
  /** Any other exception raised inside SEAL, mapped. */
  | "seal-error";

export class HeError extends Error {
  readonly code: HeErrorCode;
  constructor(code: HeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HeError";
    this.code = code;
  }
}
