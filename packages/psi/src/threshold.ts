/**
 * Threshold VOPRF: the RFC 9497 VOPRF (mode 0x01, ristretto255-SHA512) with the key k Shamir-shared over
 * Z_L among n holders (t-of-n).
 *
 *   client   B_j = r_j · HashToGroup(x_j)                                       (RFC 9497 §3.3.1 Blind)
 *   holder i Z_ij = k_i · B_j, proof π_i = GenerateProof(k_i, G, PK_i, [B_j], [Z_ij])  (§2.2.1, batched)
 *   client   VerifyProof(G, PK_i, [B_j], [Z_ij], π_i) for every responder          (§2.2.2)
 *            N_j = r_j^-1 · Σ_i λ_i · Z_ij,  λ_i = Lagrange coefficient at 0 over the responders
 *            y_j = SHA-512(lp(x_j) || lp(N_j) || "Finalize")                       (§3.3.1 Finalize)
 *
 * Since Σ λ_i k_i = k, y_j equals the single-key VOPRF output Evaluate(k, x_j) (property-tested). Holder
 * proofs use the VOPRF context string, so each holder's response is an ordinary RFC 9497 VOPRF batch
 * evaluation under its public share PK_i = k_i · G.
 *
 * The phase functions (`phases`) are the chunkable pieces the worker pool runs in parallel.
 */
import { type Rng, webCryptoRng } from "./bytes.ts";
import { checkEpochId, checkRequestEpoch, type EpochId, oprfInput, sameEpoch } from "./domain.ts";
import {
  DuplicateHolderError,
  EpochMismatchError,
  IdentityElementError,
  InsufficientHoldersError,
  InvalidEncodingError,
  InvalidInputError,
  InvalidProofError,
  PsiError,
  UnknownHolderError,
} from "./errors.ts";
import {
  bigintToScalar,
  checkElementLength,
  checkScalar,
  type Group,
  IDENTITY,
  isZero,
  msm,
  mulEach,
  mulMany,
  nobleGroup,
  ORDER,
  randomScalar,
  scalarInvertMany,
  scalarToBigint,
  validateMany,
} from "./group.ts";
import {
  blindManyWith,
  compositeSeed,
  compositeWeights,
  contextString,
  finalizeHash,
  MAX_BATCH,
  MODE_VOPRF,
  proveWithComposite,
  verifyWithComposites,
  weightedSum,
} from "./rfc9497.ts";

export const MAX_HOLDER_INDEX = 0xffff;
const CTX = contextString(MODE_VOPRF);

/** Public keys of one epoch: what every client needs to verify and combine. */
export interface ThresholdPublicKeys extends EpochId {
  readonly threshold: number;
  /** k · G. */
  readonly groupPublicKey: Uint8Array;
  /** Holder index (1..65535) → public share PK_i = k_i · G. */
  readonly publicShares: ReadonlyMap<number, Uint8Array>;
}

/** One holder's secret share for one epoch. */
export interface HolderKey extends EpochId {
  readonly index: number;
  readonly secretShare: Uint8Array;
  readonly publicShare: Uint8Array;
}

/** Sent by the client to every holder it asks. Contains no secret. */
export interface EvaluationRequest extends EpochId {
  readonly blindedElements: readonly Uint8Array[];
}

/** A holder's answer (`unverified` until {@link combineResponses} checked its proof). */
export interface HolderResponse extends EpochId {
  readonly holder: number;
  readonly evaluatedElements: readonly Uint8Array[];
  /** RFC 9497 §2.2 batch DLEQ proof c || s (64 bytes). */
  readonly proof: Uint8Array;
}

/** The client's secret state for one batch: keep it, send only `request`. */
export interface ClientBatch {
  readonly request: EvaluationRequest;
  readonly inputs: readonly Uint8Array[];
  readonly blinds: readonly Uint8Array[];
}

export interface GroupOptions {
  group?: Group;
}
export interface RandomOptions extends GroupOptions {
  rng?: Rng;
}

export function checkHolderIndex(i: number): number {
  if (!Number.isInteger(i) || i < 1 || i > MAX_HOLDER_INDEX) {
    throw new InvalidInputError(`holder index ${i}: expected an integer in 1..${MAX_HOLDER_INDEX}`);
  }
  return i;
}

function checkBatchSize(n: number): void {
  if (n < 1 || n > MAX_BATCH)
    throw new InvalidInputError(`batch of ${n}: must hold 1..${MAX_BATCH} elements`);
}

/** Lagrange coefficients at 0 for the given distinct indices: λ_i = Π_{j≠i} j / (j − i) mod L. */
export function lagrangeAtZero(indices: readonly number[]): Map<number, Uint8Array> {
  const seen = new Set<number>();
  for (const i of indices) {
    checkHolderIndex(i);
    if (seen.has(i)) throw new DuplicateHolderError(i);
    seen.add(i);
  }
  const inv = (a: bigint): bigint => {
    // Fermat inversion; all inputs are public holder indices.
    let r = 1n;
    let b = ((a % ORDER) + ORDER) % ORDER;
    let e = ORDER - 2n;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % ORDER;
      b = (b * b) % ORDER;
      e >>= 1n;
    }
    return r;
  };
  const out = new Map<number, Uint8Array>();
  for (const i of indices) {
    let num = 1n;
    let den = 1n;
    for (const j of indices) {
      if (j === i) continue;
      num = (num * BigInt(j)) % ORDER;
      den = (den * BigInt(j - i)) % ORDER;
    }
    out.set(i, bigintToScalar(num * inv(den)));
  }
  return out;
}

// ---- phases (pure, chunkable) ----

/**
 * N_j = Σ_i (λ_i r_j^-1) · Z_ij for every j, one batch multiplication per holder (the first holder's terms
 * start the sums: an addition to the identity would cost a full re-encoding addition).
 */
export function unblindSum(
  blinds: readonly Uint8Array[],
  lambdas: readonly Uint8Array[],
  evaluated: readonly (readonly Uint8Array[])[],
  group: Group,
): Uint8Array[] {
  return unblindDetailed(blinds, lambdas, evaluated, group).unblinded;
}

/**
 * {@link unblindSum} plus, on a backend with a multi-scalar multiplication, the public sums S_j = Σ_i w_i Z_ij
 * and D^-1 (so Σ_i λ_i Z_ij = D^-1 · S_j), which the combined check reuses for C (combined.ts).
 */
export function unblindDetailed(
  blinds: readonly Uint8Array[],
  lambdas: readonly Uint8Array[],
  evaluated: readonly (readonly Uint8Array[])[],
  group: Group,
): { unblinded: Uint8Array[]; sums?: Uint8Array[]; denominatorInverse?: Uint8Array } {
  const small = group.msm ? smallLagrange(lambdas) : undefined;
  if (small) return unblindOneMultiplication(blinds, small, evaluated, group);
  return { unblinded: unblindLoop(blinds, lambdas, evaluated, group) };
}

function unblindLoop(
  blinds: readonly Uint8Array[],
  lambdas: readonly Uint8Array[],
  evaluated: readonly (readonly Uint8Array[])[],
  group: Group,
): Uint8Array[] {
  const rInv = scalarInvertMany(group, blinds);
  let n = mulEach(
    group,
    rInv.map((s) => group.scalarMul(lambdas[0]!, s)),
    evaluated[0]!.slice(0, blinds.length),
  );
  for (let i = 1; i < lambdas.length; i++) {
    const terms = mulEach(
      group,
      rInv.map((s) => group.scalarMul(lambdas[i]!, s)),
      evaluated[i]!.slice(0, blinds.length),
    );
    n = n.map((x, j) => group.add(x, terms[j]!));
  }
  return n;
}

/** |a|, b below this bound count as a small fraction a/b (holder indices are < 2^16, so t ≤ 3 stays far below). */
const SMALL = 1n << 64n;

/**
 * λ_i = w_i / D with small integers w_i (signed) and D > 0 when every λ_i is a fraction of small integers
 * (Lagrange coefficients at 0 always are: Π m / Π (m − i) over holder indices); undefined otherwise. Each λ
 * is recovered by the half-extended Euclidean algorithm on (L, λ) — rational reconstruction: the first
 * remainder below 2^64 is a ≡ λ·b (mod L) with its cofactor b.
 */
export function smallLagrange(
  lambdas: readonly Uint8Array[],
): { weights: bigint[]; denominator: bigint } | undefined {
  const fracs: [bigint, bigint][] = [];
  for (const l of lambdas) {
    const lam = scalarToBigint(l) % ORDER;
    let [r0, r1, t0, t1] = [ORDER, lam, 0n, 1n];
    while (r1 >= SMALL) {
      const q = r0 / r1;
      [r0, r1] = [r1, r0 - q * r1];
      [t0, t1] = [t1, t0 - q * t1];
    }
    let [a, b] = [r1, t1];
    if (b < 0n) [a, b] = [-a, -b];
    if (b === 0n || b >= SMALL || (a - lam * b) % ORDER !== 0n) return undefined;
    fracs.push([a, b]);
  }
  const gcd = (x: bigint, y: bigint): bigint => (y === 0n ? x : gcd(y, x % y));
  const denominator = fracs.reduce((d, [, b]) => (d / gcd(d, b)) * b, 1n);
  if (denominator >= SMALL) return undefined;
  return { weights: fracs.map(([a, b]) => a * (denominator / b)), denominator };
}

/**
 * N_j = (r_j^-1 D^-1) · S_j with S_j = Σ_i w_i Z_ij: the sum with the small public integers w_i = D·λ_i is a
 * variable-time multi-scalar multiplication (public weights, received elements: nothing secret, ADR 0039),
 * then ONE constant-time multiplication by the secret r_j^-1 D^-1 instead of t. Same N_j as the loop below;
 * every Z_ij is checked as there (length, canonical encoding, not the identity), with the same errors.
 */
function unblindOneMultiplication(
  blinds: readonly Uint8Array[],
  small: { weights: bigint[]; denominator: bigint },
  evaluated: readonly (readonly Uint8Array[])[],
  group: Group,
): { unblinded: Uint8Array[]; sums: Uint8Array[]; denominatorInverse: Uint8Array } {
  const w = small.weights.map((x) => bigintToScalar(x));
  const dInv = group.scalarInvert(bigintToScalar(small.denominator));
  const rInv = scalarInvertMany(group, blinds);
  const sums = blinds.map((_, j) => {
    const column = evaluated.map((z) => z[j]!);
    for (const z of column) {
      checkElementLength(z, "element");
      if (isZero(z)) throw new IdentityElementError("element: identity element");
    }
    try {
      return msm(group, w, column);
    } catch (e) {
      if (e instanceof InvalidEncodingError)
        throw new InvalidEncodingError("element: not a canonical ristretto255 encoding");
      throw e;
    }
  });
  // a sum that is the identity (holders' errors that cancel) stays the identity, as in the loop below
  const live = sums.flatMap((s, j) => (isZero(s) ? [] : [j]));
  const done = mulEach(
    group,
    live.map((j) => group.scalarMul(rInv[j]!, dInv)),
    live.map((j) => sums[j]!),
  );
  const out = sums.map(() => IDENTITY);
  live.forEach((j, k) => {
    out[j] = done[k]!;
  });
  return { unblinded: out, sums, denominatorInverse: dInv };
}

export const phases = {
  /** Client: B_j = r_j · HashToGroup(x_j) for given blinds. */
  blind(inputs: readonly Uint8Array[], blinds: readonly Uint8Array[], group: Group): Uint8Array[] {
    return blindManyWith(MODE_VOPRF, inputs, blinds, group);
  },
  /** Holder: Z_j = k · B_j; `mul` rejects non-canonical and identity B_j (RFC 9497 §3.3). */
  evaluate(k: Uint8Array, blinded: readonly Uint8Array[], group: Group): Uint8Array[] {
    return mulMany(group, k, blinded);
  },
  /** Both: composite weights d_j for positions offset.. of the batch (RFC 9497 §2.2.1). */
  weights(
    publicKey: Uint8Array,
    c: readonly Uint8Array[],
    d: readonly Uint8Array[],
    offset: number,
  ): Uint8Array[] {
    return compositeWeights(compositeSeed(publicKey, CTX), c, d, CTX, offset);
  },
  /** Both: a partial composite Σ w_j · P_j. */
  weightedSum(weights: readonly Uint8Array[], points: readonly Uint8Array[], group: Group): Uint8Array {
    return weightedSum(group, weights, points);
  },
  /** Client: y_j = Finalize(x_j, r_j, Σ_i λ_i Z_ij), computed as Σ_i (λ_i r_j^-1) · Z_ij. */
  unblindCombine(
    inputs: readonly Uint8Array[],
    blinds: readonly Uint8Array[],
    lambdas: readonly Uint8Array[],
    evaluated: readonly (readonly Uint8Array[])[],
    group: Group,
  ): Uint8Array[] {
    const n = unblindSum(blinds, lambdas, evaluated, group);
    return inputs.map((x, j) => finalizeHash(x, n[j]!));
  },
};

// ---- client ----

/** Blinds canonical identifiers for an epoch (inputs bound to network and epoch, see domain.ts). */
export function blindIdentifiers(
  e: EpochId,
  identifiers: readonly string[],
  opts: RandomOptions = {},
): ClientBatch {
  return blindInputs(
    e,
    identifiers.map((id) => oprfInput(e, id)),
    opts,
  );
}

/** Blinds already-encoded OPRF inputs. */
export function blindInputs(
  e: EpochId,
  inputs: readonly Uint8Array[],
  opts: RandomOptions = {},
): ClientBatch {
  checkEpochId(e);
  checkBatchSize(inputs.length);
  const group = opts.group ?? nobleGroup;
  const rng = opts.rng ?? webCryptoRng;
  const blinds = inputs.map(() => randomScalar(group, rng));
  const blindedElements = phases.blind(inputs, blinds, group);
  return {
    request: { networkId: e.networkId, epoch: e.epoch, blindedElements },
    inputs: [...inputs],
    blinds,
  };
}

// ---- holder ----

/** Key holder: evaluates a request with its share and proves it (RFC 9497 §3.3.2 BlindEvaluate, batched). */
export function evaluateAsHolder(
  key: HolderKey,
  request: EvaluationRequest,
  opts: RandomOptions = {},
): HolderResponse {
  const group = opts.group ?? nobleGroup;
  checkEpochId(key);
  checkRequestEpoch(key, request);
  checkBatchSize(request.blindedElements.length);
  const k = checkScalar(key.secretShare, "secret share");
  const c = request.blindedElements;
  const d = phases.evaluate(k, c, group);
  const m = phases.weightedSum(phases.weights(key.publicShare, c, d, 0), c, group);
  const proof = proveWithComposite(CTX, k, key.publicShare, m, opts.rng ?? webCryptoRng, group);
  return { networkId: key.networkId, epoch: key.epoch, holder: key.index, evaluatedElements: d, proof };
}

// ---- client: verify and combine ----

/**
 * Checks the responses' metadata against the key set and the request and returns them in holder-index
 * order: same network and epoch, known and distinct holders, at least `threshold` of them, one
 * evaluated element per blinded element, every element valid.
 */
export function checkResponses(
  keys: ThresholdPublicKeys,
  request: EvaluationRequest,
  responses: readonly HolderResponse[],
  group: Group,
  validateElements = true,
): HolderResponse[] {
  if (!sameEpoch(keys, request)) {
    throw new EpochMismatchError(
      `request for ${request.networkId}/${request.epoch}, keys of ${keys.networkId}/${keys.epoch}`,
    );
  }
  const seen = new Set<number>();
  for (const r of responses) {
    if (!sameEpoch(r, keys)) {
      throw new EpochMismatchError(`holder ${r.holder} answered for ${r.networkId}/${r.epoch}`);
    }
    if (!keys.publicShares.has(r.holder)) throw new UnknownHolderError(r.holder);
    if (seen.has(r.holder)) throw new DuplicateHolderError(r.holder);
    seen.add(r.holder);
  }
  if (responses.length < keys.threshold) throw new InsufficientHoldersError(responses.length, keys.threshold);
  const n = request.blindedElements.length;
  for (const r of responses) {
    if (r.evaluatedElements.length !== n) {
      throw new InvalidInputError(
        `holder ${r.holder}: ${r.evaluatedElements.length} evaluations for ${n} elements`,
      );
    }
    if (validateElements) {
      validateMany(group, r.evaluatedElements, `holder ${r.holder} evaluated element`);
    }
  }
  return [...responses].sort((a, b) => a.holder - b.holder);
}

/** Verifies one holder's batch proof; false if it does not verify (malformed proof bytes also give false). */
export function verifyHolderResponse(
  keys: ThresholdPublicKeys,
  request: EvaluationRequest,
  response: HolderResponse,
  opts: GroupOptions = {},
): boolean {
  const group = opts.group ?? nobleGroup;
  const pk = keys.publicShares.get(response.holder);
  if (!pk) throw new UnknownHolderError(response.holder);
  const c = request.blindedElements;
  const d = response.evaluatedElements;
  const w = phases.weights(pk, c, d, 0);
  return verifyProofBytes(
    pk,
    phases.weightedSum(w, c, group),
    phases.weightedSum(w, d, group),
    response.proof,
    group,
  );
}

/** RFC 9497 §2.2.2 final check; a malformed proof counts as not verifying. */
export function verifyProofBytes(
  publicShare: Uint8Array,
  m: Uint8Array,
  z: Uint8Array,
  proof: Uint8Array,
  group: Group,
): boolean {
  try {
    return verifyWithComposites(CTX, publicShare, m, z, proof, group);
  } catch (e) {
    if (e instanceof PsiError) return false;
    throw e;
  }
}

/**
 * Verifies every response's proof (throws {@link InvalidProofError} naming the holder), combines with
 * Lagrange coefficients over the responders and finalizes: returns one 64-byte OPRF output per input.
 */
export function combineResponses(
  keys: ThresholdPublicKeys,
  batch: ClientBatch,
  responses: readonly HolderResponse[],
  opts: GroupOptions = {},
): Uint8Array[] {
  const group = opts.group ?? nobleGroup;
  const sorted = checkResponses(keys, batch.request, responses, group);
  for (const r of sorted) {
    if (!verifyHolderResponse(keys, batch.request, r, { group })) throw new InvalidProofError(r.holder);
  }
  const lambda = lagrangeAtZero(sorted.map((r) => r.holder));
  return phases.unblindCombine(
    batch.inputs,
    batch.blinds,
    sorted.map((r) => lambda.get(r.holder)!),
    sorted.map((r) => r.evaluatedElements),
    group,
  );
}
