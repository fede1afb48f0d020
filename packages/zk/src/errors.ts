/** Typed errors of the zk leaf. Malformed input throws ZkError; a well-formed but invalid proof verifies `false`. */
export type ZkErrorCode =
  | "INVALID_ENCODING"
  | "INVALID_INPUT"
  | "ARTIFACT_MISMATCH"
  | "TREE_FULL"
  | "NO_SUCH_LEAF"
  | "PROVE_FAILED";

export class ZkError extends Error {
  override readonly name = "ZkError";
  readonly code: ZkErrorCode;
  constructor(code: ZkErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
