/**
 * Groth16 proofs on BN254 (J. Groth, EUROCRYPT 2016) through snarkjs 0.7.6, and their compact wire form:
 * 256 bytes = A (x, y) ‖ B (x.c1, x.c0, y.c1, y.c0) ‖ C (x, y), each coordinate 32 bytes big-endian — the
 * order of EIP-197's pairing input. Parsing checks lengths and that each coordinate is below the base-field
 * modulus; snarkjs then checks the points are on their curves (and in the subgroup for G2) before pairing.
 */
import { type Groth16Proof, groth16 } from "snarkjs";
import { type MembershipStatement, publicSignals } from "./consent.ts";
import { ZkError } from "./errors.ts";
import { bigIntToBytes, bytesToBigInt } from "./fields.ts";
import { verifyGroth16 } from "./groth16.ts";

/** The BN254 base field modulus q (EIP-196). */
export const BASE_FIELD_ORDER =
  21888242871839275222246405745257275088696311157297823662689037894645226208583n;
export const PROOF_BYTES = 256;

export interface Artifacts {
  /** The circuit's witness-calculator WebAssembly. */
  wasm: Uint8Array;
  /** The Groth16 proving key. */
  zkey: Uint8Array;
}

export function encodeProof(p: Groth16Proof): Uint8Array {
  const coords = [
    p.pi_a[0],
    p.pi_a[1],
    p.pi_b[0]?.[1],
    p.pi_b[0]?.[0],
    p.pi_b[1]?.[1],
    p.pi_b[1]?.[0],
    p.pi_c[0],
    p.pi_c[1],
  ];
  const out = new Uint8Array(PROOF_BYTES);
  coords.forEach((c, i) => {
    if (c === undefined) throw new ZkError("INVALID_INPUT", "proof: missing coordinate");
    out.set(bigIntToBytes(BigInt(c), 32), 32 * i);
  });
  return out;
}

export function decodeProof(unverified: Uint8Array): Groth16Proof {
  if (!(unverified instanceof Uint8Array) || unverified.length !== PROOF_BYTES) {
    throw new ZkError("INVALID_ENCODING", `proof: ${PROOF_BYTES} bytes expected`);
  }
  const c: string[] = [];
  for (let i = 0; i < 8; i++) {
    const x = bytesToBigInt(unverified.subarray(32 * i, 32 * i + 32));
    if (x >= BASE_FIELD_ORDER) throw new ZkError("INVALID_ENCODING", `proof: coordinate ${i} not below q`);
    c.push(x.toString());
  }
  return {
    pi_a: [c[0]!, c[1]!, "1"],
    pi_b: [
      [c[3]!, c[2]!],
      [c[5]!, c[4]!],
      ["1", "0"],
    ],
    pi_c: [c[6]!, c[7]!, "1"],
    protocol: "groth16",
    curve: "bn128",
  };
}

/**
 * Proves a witness input (from membershipInput). Throws ZkError("PROVE_FAILED") when the witness does not
 * satisfy the circuit (wrong purpose, expired, not in the tree, …): there is then no proof to make.
 */
export async function prove(
  artifacts: Artifacts,
  input: Record<string, unknown>,
  options: { singleThread?: boolean } = {},
): Promise<{ proof: Uint8Array; publicSignals: string[] }> {
  let out: { proof: Groth16Proof; publicSignals: string[] };
  try {
    out = await groth16.fullProve(
      input,
      { type: "mem", data: artifacts.wasm },
      { type: "mem", data: artifacts.zkey },
      undefined,
      undefined,
      options,
    );
  } catch (e) {
    throw new ZkError(
      "PROVE_FAILED",
      `witness does not satisfy the circuit: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return { proof: encodeProof(out.proof), publicSignals: out.publicSignals };
}

/**
 * Verifies a proof against a statement rebuilt by the verifier (never the prover's public signals).
 * Malformed bytes or statement throw ZkError; a well-formed proof that does not verify returns false.
 * Runs on a cached single-threaded curve with the key prepared once (groth16.ts, ADR 0015): no worker
 * threads are started, and B must lie in G2's prime-order subgroup.
 */
export async function verifyMembership(
  vkey: object,
  statement: MembershipStatement,
  unverifiedProof: Uint8Array,
): Promise<boolean> {
  const proof = decodeProof(unverifiedProof);
  const signals = publicSignals(statement);
  return verifyGroth16(vkey, signals, proof);
}

/**
 * Stops the worker threads snarkjs' BN254 curve (ffjavascript) keeps after a multi-threaded prove; a
 * short-lived process calls this before it can exit (verification no longer starts any). The next prove or verify builds it again.
 */
export async function releaseCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  const curve = g.curve_bn128;
  if (curve) {
    delete g.curve_bn128;
    await curve.terminate();
  }
}
