/**
 * Threshold VOPRF with the evaluation proof moved to one combined element (ADR 0013): the same outputs
 * and the same guarantee as verifying every holder's RFC 9497 batch proof (threshold.ts), for 1 + t + 2
 * client multiplications and 1 holder multiplication per element instead of 1 + 3t and 2.
 *
 *   round 1  holder i   Z_ij = k_i · B_j, no proof                                 (evaluateUnproven)
 *   client              e_j ← uniform non-zero scalars, drawn after every Z_ij arrived
 *                       M = Σ_j e_j · B_j                                   (multi-scalar multiplication)
 *                       N_j = Σ_i (λ_i r_j^-1) · Z_ij          (the unblinded outputs, withheld)
 *                       C = Σ_i λ_i · (Σ_j e_j · Z_ij)    (= Σ_j (e_j r_j) · N_j; MSMs, startCombinedCheck)
 *                         = D^-1 · Σ_j e_j · S_j  with the unblinding's S_j = Σ_i (D λ_i) Z_ij (native)
 *   round 2  holder i   Y_i = k_i · M with an RFC 9497 VOPRF proof under PK_i — an ordinary one-element
 *                       evaluation (evaluateAsHolder on [M])
 *   client              verify each proof; accept iff Σ_i λ_i Y_i = C; else find the holder whose
 *                       Σ_j e_j Z_ij ≠ Y_i and name it                                 (finishCombinedCheck)
 *
 * Why it is sound (ADR 0013): each Y_i is proven to be k_i·M, so Σ λ_i Y_i = k·M with k = Σ λ_i k_i (the
 * key the per-holder proofs bind to as well). If some N_j ≠ k·H(x_j), write N_j = k·H(x_j) + E_j; then
 * C − k·M = Σ_j e_j r_j E_j, and because the e_j are uniform and drawn after the Z_ij (hence the E_j)
 * were fixed, and r_j ≠ 0, this is the identity with probability at most 1/L in the prime-order group
 * (a random linear combination of non-zero errors — the small-exponent batch test of Bellare, Garay and
 * Rabin, EUROCRYPT 1998, with full-size exponents). Holders see M, a uniformly random element given the
 * B_j (e is secret), and answer it like any blinded element: they learn nothing new, and the extra
 * element is one more metered evaluation.
 *
 * M and C are multi-scalar multiplications (ADR 0039), which run in variable time on the native backend, so
 * none of their inputs may be secret when they run: B_j and Z_ij have been on the wire, λ_i follow from the
 * public responder indices, and e only had to be unpredictable until the round-1 answers were fixed — they are
 * (the weights are drawn after them), and round 2 leaves no freedom (each Y_i carries a DLEQ proof). C is
 * therefore computed from the Z_ij, never as Σ_j (e_j r_j) · N_j, whose weights contain the secret blinds.
 * The unblinding (weights λ_i r_j^-1) stays on the constant-time multiplications.
 */
import { type Rng, equalBytes as sameBytes, webCryptoRng } from "./bytes.ts";
import { checkRequestEpoch, sameEpoch } from "./domain.ts";
import { EpochMismatchError, InvalidInputError, InvalidProofError } from "./errors.ts";
import {
  checkScalar,
  type Group,
  IDENTITY,
  isZero,
  msm,
  mulMany,
  nobleGroup,
  randomScalar,
} from "./group.ts";
import { finalizeHash } from "./rfc9497.ts";
import {
  type ClientBatch,
  checkResponses,
  type EvaluationRequest,
  type GroupOptions,
  type HolderKey,
  type HolderResponse,
  lagrangeAtZero,
  type RandomOptions,
  type ThresholdPublicKeys,
  unblindDetailed,
  verifyHolderResponse,
} from "./threshold.ts";

/** A holder's round-1 answer: the evaluated elements without a proof (`unverified`). */
export interface HolderEvaluation {
  readonly networkId: string;
  readonly epoch: number;
  readonly holder: number;
  readonly evaluatedElements: readonly Uint8Array[];
}

/** The client's state between the rounds. Send only `request` (the one element M) to the same holders. */
export interface CombinedCheck {
  readonly request: EvaluationRequest;
  /** Responders in holder-index order, their round-1 elements and Lagrange coefficients. */
  readonly holders: readonly number[];
  readonly evaluations: readonly (readonly Uint8Array[])[];
  readonly lambdas: readonly Uint8Array[];
  readonly weights: readonly Uint8Array[];
  /** C = Σ_i λ_i Σ_j e_j Z_ij (= Σ_j (e_j r_j) · N_j). */
  readonly combined: Uint8Array;
  /** The finalized outputs, released only by finishCombinedCheck. */
  readonly outputs: readonly Uint8Array[];
}

/** Round-1 holder work: Z_j = k·B_j for every element (mul rejects non-canonical and identity B_j). */
export function evaluateUnproven(
  key: HolderKey,
  request: EvaluationRequest,
  opts: GroupOptions = {},
): HolderEvaluation {
  const group = opts.group ?? nobleGroup;
  checkRequestEpoch(key, request);
  const k = checkScalar(key.secretShare, "secret share");
  return {
    networkId: key.networkId,
    epoch: key.epoch,
    holder: key.index,
    evaluatedElements: mulMany(group, k, request.blindedElements),
  };
}

/** Per-chunk client work of startCombinedCheck, shared with the worker pool. */
export const combinedPhases = {
  /**
   * For elements of one chunk: the partial M = Σ e_j B_j, the unblinded N_j = Σ_i (λ_i r_j^-1) Z_ij, the
   * partial C = Σ_i λ_i (Σ_j e_j Z_ij) and the finalized outputs. The unblinding validates every Z_ij (and
   * refuses the identity) before the multi-scalar multiplications see them; no MSM weight involves r_j.
   */
  chunk(
    inputs: readonly Uint8Array[],
    blinds: readonly Uint8Array[],
    blinded: readonly Uint8Array[],
    lambdas: readonly Uint8Array[],
    evaluated: readonly (readonly Uint8Array[])[],
    weights: readonly Uint8Array[],
    group: Group,
  ): { partialM: Uint8Array; partialC: Uint8Array; outputs: Uint8Array[] } {
    const partialM = msm(group, weights, blinded);
    const u = unblindDetailed(blinds, lambdas, evaluated, group);
    const n = u.unblinded;
    // C = Σ_i λ_i Σ_j e_j Z_ij; with the unblinding's public sums S_j = Σ_i w_i Z_ij = D·Σ_i λ_i Z_ij it is
    // D^-1 · Σ_j e_j S_j (n terms instead of t·n). Either way no weight involves r_j.
    const partialC =
      u.sums && u.denominatorInverse
        ? msm(group, [u.denominatorInverse], [msm(group, weights, u.sums)])
        : msm(
            group,
            lambdas,
            evaluated.map((z) => msm(group, weights, z.slice(0, blinds.length))),
          );
    const outputs = inputs.map((x, j) => finalizeHash(x, n[j]!));
    return { partialM, partialC, outputs };
  },
  /** For identifying a cheater: Σ_j e_j Z_ij per holder over one chunk. */
  holderComposites(
    evaluated: readonly (readonly Uint8Array[])[],
    weights: readonly Uint8Array[],
    group: Group,
  ): Uint8Array[] {
    return evaluated.map((z) => msm(group, weights, z));
  },
};

/**
 * Uniform non-zero weights e_j from the client's RNG (64 bytes reduced mod L each), drawn 1,024 at a time (one
 * 64 KiB call: WebCrypto's per-call limit) rather than one RNG call per weight; a zero (probability 2^-252)
 * is redrawn as RandomScalar does.
 */
export function drawWeights(n: number, group: Group, rng: Rng = webCryptoRng): Uint8Array[] {
  const out: Uint8Array[] = [];
  while (out.length < n) {
    const k = Math.min(1024, n - out.length);
    const wide = rng(64 * k);
    if (!(wide instanceof Uint8Array) || wide.length !== 64 * k)
      throw new InvalidInputError(`rng: expected ${64 * k} bytes`);
    for (let i = 0; i < k; i++) {
      const s = group.scalarReduce(wide.subarray(64 * i, 64 * (i + 1)));
      out.push(isZero(s) ? randomScalar(group, rng) : s);
    }
  }
  return out;
}

/** Checks round-1 answers like checkResponses (epoch, known distinct holders, ≥ t, lengths). */
export function checkEvaluations(
  keys: ThresholdPublicKeys,
  request: EvaluationRequest,
  evaluations: readonly HolderEvaluation[],
  group: Group,
): HolderEvaluation[] {
  return checkResponses(
    keys,
    request,
    evaluations.map((e) => ({ ...e, proof: new Uint8Array(64) })),
    group,
    false,
  ).map(({ proof: _proof, ...e }) => e);
}

/** Client after round 1: draws the weights and computes M, the withheld outputs and C. */
export function startCombinedCheck(
  keys: ThresholdPublicKeys,
  batch: ClientBatch,
  evaluations: readonly HolderEvaluation[],
  opts: RandomOptions = {},
): CombinedCheck {
  const group = opts.group ?? nobleGroup;
  const sorted = checkEvaluations(keys, batch.request, evaluations, group);
  const lambda = lagrangeAtZero(sorted.map((r) => r.holder));
  const lambdas = sorted.map((r) => lambda.get(r.holder)!);
  const weights = drawWeights(batch.inputs.length, group, opts.rng);
  const part = combinedPhases.chunk(
    batch.inputs,
    batch.blinds,
    batch.request.blindedElements,
    lambdas,
    sorted.map((r) => r.evaluatedElements),
    weights,
    group,
  );
  return assembleCheck(batch, sorted, lambdas, weights, [part]);
}

/** Builds the CombinedCheck from per-chunk partials (used by the pool as well). */
export function assembleCheck(
  batch: ClientBatch,
  sorted: readonly HolderEvaluation[],
  lambdas: readonly Uint8Array[],
  weights: readonly Uint8Array[],
  parts: readonly { partialM: Uint8Array; partialC: Uint8Array; outputs: readonly Uint8Array[] }[],
  group: Group = nobleGroup,
): CombinedCheck {
  let m = IDENTITY;
  let c = IDENTITY;
  for (const p of parts) {
    m = group.add(m, p.partialM);
    c = group.add(c, p.partialC);
  }
  if (sameBytes(m, IDENTITY)) throw new InvalidInputError("combined element is the identity (retry)");
  return {
    request: { networkId: batch.request.networkId, epoch: batch.request.epoch, blindedElements: [m] },
    holders: sorted.map((r) => r.holder),
    evaluations: sorted.map((r) => r.evaluatedElements),
    lambdas,
    weights,
    combined: c,
    outputs: parts.flatMap((p) => p.outputs),
  };
}

/**
 * Client after round 2: `proofs` are the holders' one-element evaluations of `check.request` (one per
 * round-1 holder). Throws {@link InvalidProofError} naming a holder whose round-2 proof fails or whose
 * round-1 elements are wrong (found with `holderComposites`, which the pool runs in parallel); otherwise
 * returns the outputs.
 */
export function finishCombinedCheck(
  keys: ThresholdPublicKeys,
  check: CombinedCheck,
  proofs: readonly HolderResponse[],
  opts: GroupOptions & {
    holderComposites?: (check: CombinedCheck) => readonly Uint8Array[];
  } = {},
): Uint8Array[] {
  const group = opts.group ?? nobleGroup;
  const ys = verifyRound2(keys, check, proofs, group);
  const sum = msm(group, check.lambdas, ys); // λ_i public, Y_i received
  if (sameBytes(sum, check.combined)) return [...check.outputs];
  const composites =
    opts.holderComposites?.(check) ??
    combinedPhases.holderComposites(check.evaluations, check.weights, group);
  const cheat = check.holders.find((_, i) => !sameBytes(composites[i]!, ys[i]!));
  // Unreachable unless the per-holder composites disagree with the combined one (they cannot all match).
  if (cheat === undefined)
    throw new InvalidInputError("combined check failed but every holder's composite matches");
  throw new InvalidProofError(cheat);
}

/** Verifies the round-2 answers (same epoch, one per holder, the element M, a valid proof); returns Y_i. */
export function verifyRound2(
  keys: ThresholdPublicKeys,
  check: CombinedCheck,
  proofs: readonly HolderResponse[],
  group: Group,
): Uint8Array[] {
  return check.holders.map((h) => {
    const p = proofs.find((r) => r.holder === h);
    if (!p) throw new InvalidInputError(`holder ${h}: no answer to the combined element`);
    if (!sameEpoch(p, keys))
      throw new EpochMismatchError(`holder ${h} answered for ${p.networkId}/${p.epoch}`);
    if (p.evaluatedElements.length !== 1) throw new InvalidProofError(h);
    try {
      group.validate(p.evaluatedElements[0]!, `holder ${h} combined element`);
    } catch {
      throw new InvalidProofError(h);
    }
    if (!verifyHolderResponse(keys, check.request, p, { group })) throw new InvalidProofError(h);
    return p.evaluatedElements[0]!;
  });
}
