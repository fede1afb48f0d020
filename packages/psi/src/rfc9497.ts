/**
 * RFC 9497 (Oblivious Pseudorandom Functions Using Prime-Order Groups), ciphersuite ristretto255-SHA512
 * (§4.1), modes OPRF (0x00) and VOPRF (0x01), written over the byte-level {@link Group} so the same code runs
 * on @noble/curves and on libsodium WASM.
 *
 * - §2.1 RandomScalar, §2.2.1 ComputeComposites / ComputeCompositesFast, GenerateProof, §2.2.2 VerifyProof
 *   (batched: one proof for a list of (C_i, D_i) pairs, at most 65535 — the index is I2OSP(i, 2));
 * - §3.2 contextString, §3.2.1 DeriveKeyPair, §3.3.1 (OPRF) and §3.3.2 (VOPRF) Blind / BlindEvaluate /
 *   Finalize / Evaluate;
 * - §3.3: elements received over the wire are validated and the identity is rejected.
 *
 * Randomness (blinds and the proof nonce r) is always an injected {@link Rng}, so the Appendix A vectors
 * replay. POPRF (mode 0x02) is deliberately absent: its tweak k + H(info) is not linear in k, so it cannot
 * be Shamir-shared (docs/protocol/oprf.md).
 */
import { ristretto255_hasher } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { ascii, concat, equalBytes, i2osp, lp, type Rng, webCryptoRng } from "./bytes.ts";
import { InvalidEncodingError, InvalidInputError } from "./errors.ts";
import {
  bigintToScalar,
  checkScalar,
  ELEMENT_BYTES,
  type Group,
  hashToGroupMany,
  IDENTITY,
  isZero,
  mulEach,
  nobleGroup,
  randomScalar,
  SCALAR_BYTES,
  validateMany,
} from "./group.ts";

export const MODE_OPRF = 0x00;
export const MODE_VOPRF = 0x01;
export type Mode = typeof MODE_OPRF | typeof MODE_VOPRF;
export const SUITE_ID = "ristretto255-SHA512";
export const OUTPUT_BYTES = 64;
export const PROOF_BYTES = 2 * SCALAR_BYTES;
/** RFC 9497 §2.2.1 encodes batch indices with I2OSP(i, 2). */
export const MAX_BATCH = 0xffff;

/** §3.2: "OPRFV1-" || I2OSP(mode, 1) || "-" || identifier. */
export function contextString(mode: Mode): Uint8Array {
  return concat(ascii("OPRFV1-"), i2osp(mode, 1), ascii(`-${SUITE_ID}`));
}
const CTX = { [MODE_OPRF]: contextString(MODE_OPRF), [MODE_VOPRF]: contextString(MODE_VOPRF) };
const H2G_DST = {
  [MODE_OPRF]: concat(ascii("HashToGroup-"), CTX[MODE_OPRF]),
  [MODE_VOPRF]: concat(ascii("HashToGroup-"), CTX[MODE_VOPRF]),
};

export function hashToGroupDst(mode: Mode): Uint8Array {
  return H2G_DST[mode];
}

/** §4.1 HashToScalar: expand_message_xmd(SHA-512, msg, DST, 64) read little-endian, reduced mod L. */
export function hashToScalar(msg: Uint8Array, dst: Uint8Array): Uint8Array {
  return bigintToScalar(ristretto255_hasher.hashToScalar(msg, { DST: dst }));
}

function checkInput(input: Uint8Array, what = "input"): Uint8Array {
  if (!(input instanceof Uint8Array)) throw new InvalidInputError(`${what}: expected bytes`);
  if (input.length > 0xffff) throw new InvalidInputError(`${what}: longer than 65535 bytes (RFC 9497 §1.2)`);
  return input;
}

function checkBatch(n: number): void {
  if (n < 1 || n > MAX_BATCH)
    throw new InvalidInputError(`batch of ${n}: must hold 1..${MAX_BATCH} elements`);
}

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** §3.2.1 DeriveKeyPair(seed, info). */
export function deriveKeyPair(
  mode: Mode,
  seed: Uint8Array,
  info: Uint8Array,
  group: Group = nobleGroup,
): KeyPair {
  if (seed.length !== 32) throw new InvalidInputError("seed: expected 32 bytes");
  const deriveInput = concat(seed, lp(checkInput(info, "info")));
  const dst = concat(ascii("DeriveKeyPair"), CTX[mode]);
  for (let counter = 0; counter < 256; counter++) {
    const sk = hashToScalar(concat(deriveInput, i2osp(counter, 1)), dst);
    if (!isZero(sk)) return { secretKey: sk, publicKey: group.mulBase(sk) };
  }
  throw new InvalidInputError("DeriveKeyPairError");
}

export interface Blinded {
  blind: Uint8Array;
  blindedElement: Uint8Array;
}

/** §3.3.1 Blind: r = RandomScalar(); B = r · HashToGroup(input). */
export function blind(
  mode: Mode,
  input: Uint8Array,
  rng: Rng = webCryptoRng,
  group: Group = nobleGroup,
): Blinded {
  const r = randomScalar(group, rng);
  return { blind: r, blindedElement: blindWith(mode, input, r, group) };
}

/** {@link blindWith} over a batch: one HashToGroup and one multiplication per input, in batch form. */
export function blindManyWith(
  mode: Mode,
  inputs: readonly Uint8Array[],
  blinds: readonly Uint8Array[],
  group: Group = nobleGroup,
): Uint8Array[] {
  const elements = hashToGroupMany(
    group,
    inputs.map((x) => checkInput(x)),
    H2G_DST[mode],
  );
  return mulEach(
    group,
    blinds.map((r) => checkScalar(r, "blind")),
    elements,
  );
}

/** Blind with a given scalar (the deterministic core of {@link blind}, used by the worker pool). */
export function blindWith(
  mode: Mode,
  input: Uint8Array,
  r: Uint8Array,
  group: Group = nobleGroup,
): Uint8Array {
  const inputElement = group.hashToGroup(checkInput(input), H2G_DST[mode]);
  // hash_to_ristretto255 cannot return the identity except with negligible probability; mul rejects it.
  return group.mul(checkScalar(r, "blind"), inputElement);
}

/** §3.3.1 BlindEvaluate: Z = k · B, B validated (§3.3). */
export function blindEvaluate(
  secretKey: Uint8Array,
  blindedElement: Uint8Array,
  group: Group = nobleGroup,
): Uint8Array {
  group.validate(blindedElement, "blinded element");
  return group.mul(checkScalar(secretKey, "secret key"), blindedElement);
}

/** §3.3.1 Finalize: Hash(I2OSP(len(input),2) || input || I2OSP(len(N),2) || N || "Finalize"), N = r^-1 · Z. */
export function finalize(
  input: Uint8Array,
  blindScalar: Uint8Array,
  evaluated: Uint8Array,
  group: Group = nobleGroup,
): Uint8Array {
  group.validate(evaluated, "evaluated element");
  const n = group.mul(group.scalarInvert(checkScalar(blindScalar, "blind")), evaluated);
  return finalizeHash(input, n);
}

/** The hash at the end of §3.3.1 Finalize / Evaluate over an unblinded element. */
export function finalizeHash(input: Uint8Array, unblinded: Uint8Array): Uint8Array {
  return sha512(concat(lp(checkInput(input)), lp(unblinded), ascii("Finalize")));
}

/** §3.3.1 / §3.3.2 Evaluate: the PRF computed directly with the key (no blinding). */
export function evaluate(
  mode: Mode,
  secretKey: Uint8Array,
  input: Uint8Array,
  group: Group = nobleGroup,
): Uint8Array {
  const inputElement = group.hashToGroup(checkInput(input), H2G_DST[mode]);
  return finalizeHash(input, group.mul(checkScalar(secretKey, "secret key"), inputElement));
}

// ---- §2.2 discrete-log equivalence proofs (A = G throughout, as in VOPRF) ----

const SEED_PREFIX = ascii("Seed-");
const COMPOSITE = ascii("Composite");
const CHALLENGE = ascii("Challenge");

function scalarDst(ctx: Uint8Array): Uint8Array {
  return concat(ascii("HashToScalar-"), ctx);
}

/** §2.2.1: seed = Hash(I2OSP(len(Bm),2) || Bm || I2OSP(len(seedDST),2) || seedDST). */
export function compositeSeed(publicKey: Uint8Array, ctx: Uint8Array): Uint8Array {
  return sha512(concat(lp(publicKey), lp(concat(SEED_PREFIX, ctx))));
}

/** §2.2.1: d_i = HashToScalar(lp(seed) || I2OSP(i,2) || lp(C_i) || lp(D_i) || "Composite") for i = offset.. */
export function compositeWeights(
  seed: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
  ctx: Uint8Array,
  offset = 0,
): Uint8Array[] {
  const dst = scalarDst(ctx);
  const prefix = lp(seed);
  const out: Uint8Array[] = new Array(c.length);
  for (let i = 0; i < c.length; i++) {
    out[i] = hashToScalar(concat(prefix, i2osp(offset + i, 2), lp(c[i]!), lp(d[i]!), COMPOSITE), dst);
  }
  return out;
}

/** k·P that yields the identity for k = 0 or P = identity (composites and verification equations). */
export function mulLenient(group: Group, k: Uint8Array, p: Uint8Array): Uint8Array {
  if (isZero(k) || isZero(p)) return IDENTITY;
  return group.mul(k, p);
}

/** Σ w_i · P_i, computed as plain multiplications and additions (the only operations libsodium exposes). */
export function weightedSum(
  group: Group,
  weights: readonly Uint8Array[],
  points: readonly Uint8Array[],
): Uint8Array {
  if (weights.length === 0) return IDENTITY;
  if (group.mulSum) return group.mulSum(weights, points);
  // The first term starts the sum (an addition to the identity would cost a full re-encoding addition).
  let acc = mulLenient(group, weights[0]!, points[0]!);
  for (let i = 1; i < weights.length; i++) acc = group.add(acc, mulLenient(group, weights[i]!, points[i]!));
  return acc;
}

function challenge(
  b: Uint8Array,
  m: Uint8Array,
  z: Uint8Array,
  t2: Uint8Array,
  t3: Uint8Array,
  ctx: Uint8Array,
) {
  return hashToScalar(concat(lp(b), lp(m), lp(z), lp(t2), lp(t3), CHALLENGE), scalarDst(ctx));
}

/** §2.2.1 GenerateProof after ComputeCompositesFast produced M (Z = k·M): returns c || s. */
export function proveWithComposite(
  ctx: Uint8Array,
  k: Uint8Array,
  publicKey: Uint8Array,
  m: Uint8Array,
  rng: Rng,
  group: Group,
): Uint8Array {
  const z = mulLenient(group, k, m);
  const r = randomScalar(group, rng);
  const t2 = group.mulBase(r);
  const t3 = mulLenient(group, r, m);
  const c = challenge(publicKey, m, z, t2, t3, ctx);
  const s = group.scalarSub(r, group.scalarMul(c, k));
  return concat(c, s);
}

/** Parses c || s (§2.2.2); throws {@link InvalidEncodingError} on a wrong length or a non-canonical scalar. */
export function parseProof(proof: Uint8Array): { c: Uint8Array; s: Uint8Array } {
  if (!(proof instanceof Uint8Array) || proof.length !== PROOF_BYTES) {
    throw new InvalidEncodingError(`proof: expected ${PROOF_BYTES} bytes`);
  }
  const c = checkScalar(proof.slice(0, SCALAR_BYTES), "proof c", false);
  const s = checkScalar(proof.slice(SCALAR_BYTES), "proof s", false);
  return { c, s };
}

/** §2.2.2 VerifyProof given the composites M and Z: t2 = s·G + c·B, t3 = s·M + c·Z, compare c. */
export function verifyWithComposites(
  ctx: Uint8Array,
  publicKey: Uint8Array,
  m: Uint8Array,
  z: Uint8Array,
  proof: Uint8Array,
  group: Group,
): boolean {
  const { c, s } = parseProof(proof);
  const sG = isZero(s) ? IDENTITY : group.mulBase(s);
  const t2 = group.add(sG, mulLenient(group, c, publicKey));
  const t3 = group.add(mulLenient(group, s, m), mulLenient(group, c, z));
  return equalBytes(challenge(publicKey, m, z, t2, t3, ctx), c);
}

/** §2.2.1 GenerateProof(k, G, B = k·G, C, D) with ComputeCompositesFast. */
export function generateProof(
  mode: Mode,
  k: Uint8Array,
  publicKey: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
  rng: Rng = webCryptoRng,
  group: Group = nobleGroup,
): Uint8Array {
  checkBatch(c.length);
  if (d.length !== c.length) throw new InvalidInputError("proof: C and D differ in length");
  const ctx = CTX[mode];
  const w = compositeWeights(compositeSeed(publicKey, ctx), c, d, ctx);
  return proveWithComposite(
    ctx,
    checkScalar(k, "secret key"),
    publicKey,
    weightedSum(group, w, c),
    rng,
    group,
  );
}

/**
 * §2.2.2 VerifyProof(G, B, C, D, proof). Returns false for a well-formed proof that does not verify; throws
 * a typed error for malformed elements or a malformed proof.
 */
export function verifyProof(
  mode: Mode,
  publicKey: Uint8Array,
  c: readonly Uint8Array[],
  d: readonly Uint8Array[],
  proof: Uint8Array,
  group: Group = nobleGroup,
): boolean {
  checkBatch(c.length);
  if (d.length !== c.length) throw new InvalidInputError("proof: C and D differ in length");
  group.validate(publicKey, "public key");
  validateMany(group, c, "blinded element");
  validateMany(group, d, "evaluated element");
  const ctx = CTX[mode];
  const w = compositeWeights(compositeSeed(publicKey, ctx), c, d, ctx);
  return verifyWithComposites(
    ctx,
    publicKey,
    weightedSum(group, w, c),
    weightedSum(group, w, d),
    proof,
    group,
  );
}

export interface BatchEvaluation {
  evaluatedElements: Uint8Array[];
  proof: Uint8Array;
}

/** §3.3.2 BlindEvaluate (VOPRF), batched: Z_i = k·B_i and one proof for the whole batch. */
export function blindEvaluateBatch(
  secretKey: Uint8Array,
  publicKey: Uint8Array,
  blindedElements: readonly Uint8Array[],
  rng: Rng = webCryptoRng,
  group: Group = nobleGroup,
): BatchEvaluation {
  checkBatch(blindedElements.length);
  const evaluatedElements = blindedElements.map((b) => blindEvaluate(secretKey, b, group));
  const proof = generateProof(
    MODE_VOPRF,
    secretKey,
    publicKey,
    blindedElements,
    evaluatedElements,
    rng,
    group,
  );
  return { evaluatedElements, proof };
}

/** §3.3.2 Finalize (VOPRF), batched. Returns null when the proof does not verify. */
export function finalizeBatch(
  inputs: readonly Uint8Array[],
  blinds: readonly Uint8Array[],
  blindedElements: readonly Uint8Array[],
  evaluation: BatchEvaluation,
  publicKey: Uint8Array,
  group: Group = nobleGroup,
): Uint8Array[] | null {
  const { evaluatedElements, proof } = evaluation;
  if (inputs.length !== blinds.length || inputs.length !== evaluatedElements.length) {
    throw new InvalidInputError("finalize: inputs, blinds and evaluations differ in length");
  }
  if (!verifyProof(MODE_VOPRF, publicKey, blindedElements, evaluatedElements, proof, group)) return null;
  return inputs.map((x, i) => finalize(x, blinds[i]!, evaluatedElements[i]!, group));
}

export { ELEMENT_BYTES, SCALAR_BYTES };
