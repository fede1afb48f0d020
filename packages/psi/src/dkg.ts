/**
 * Distributed key generation for the threshold OPRF key: no machine ever holds k.
 *
 * We use the DKG that @noble/curves 2.4 ships with its FROST implementation (`ristretto255_FROST.DKG`):
 * the Pedersen DKG with Feldman VSS commitments and a Schnorr proof of knowledge of each dealer's constant
 * term — Komlo & Goldberg, "FROST: Flexible Round-Optimized Schnorr Threshold Signatures" (SAC 2020),
 * Figure 1, the variant of Gennaro, Jarecki, Krawczyk & Rabin's JF-DKG ("Secure Distributed Key Generation
 * for Discrete-Log Based Cryptosystems", J. Cryptology 2007). RFC 9591 (FROST) leaves DKG out of scope; its
 * Appendix C.2 `vss_verify` is the share check used here. The group is ristretto255 with the FROST suite
 * FROST-RISTRETTO255-SHA512-v1 (RFC 9591 §6.2) for the proof-of-knowledge hash.
 *
 * Rounds (each pure: takes the previous messages and an injected RNG, returns new state; transport,
 * authentication and the broadcast channel are the caller's job):
 *   1. holder i samples f_i of degree t−1, broadcasts commitments C_ik = a_ik · G and a PoK of a_i0;
 *   2. on all n−1 other broadcasts: checks each PoK and commitment (complaint → {@link DkgComplaintError}
 *      naming the sender), then sends f_i(j) privately to each holder j;
 *   3. on the n−1 shares sent to it: checks each against the sender's commitments (Feldman VSS; complaint
 *      → {@link DkgComplaintError}), sums them into its share k_i = Σ_j f_j(i), and outputs the group key
 *      PK = Σ_j C_j0 and every public share PK_l = Σ_j Σ_k C_jk · l^k.
 *
 * Known limit (Gennaro et al. 2007): a rushing adversary can bias the distribution of PK in JF-DKG-style
 * protocols. For an OPRF key this does not let it compute outputs (it would still need t shares); the
 * paper's fix (Pedersen commitments in a first phase) is noted in docs/adr/0011-*.md as not adopted.
 */
import { ristretto255, ristretto255_FROST } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { ascii, concat, type Rng, webCryptoRng } from "./bytes.ts";
import { checkEpochId, type EpochId, sameEpoch } from "./domain.ts";
import { DkgComplaintError, DkgError, EpochMismatchError, PsiError } from "./errors.ts";
import { bigintToScalar, ORDER, scalarToBigint } from "./group.ts";
import { checkHolderIndex, type HolderKey, type ThresholdPublicKeys } from "./threshold.ts";

const FROST = ristretto255_FROST;
const Point = ristretto255.Point;
type DkgSecret = ReturnType<typeof FROST.DKG.round1>["secret"];

export interface DkgParams extends EpochId {
  /** t: shares needed to evaluate (2 ≤ t ≤ n). */
  readonly threshold: number;
  /** n: holders, with indices 1..n. */
  readonly holders: number;
}

export interface DkgRound1Broadcast extends EpochId {
  readonly from: number;
  /** Feldman commitments a_k · G, k = 0..t−1. */
  readonly commitment: readonly Uint8Array[];
  /** Schnorr proof of knowledge of a_0 (R || z). */
  readonly proofOfKnowledge: Uint8Array;
}

/** Private: must travel on an authenticated, encrypted channel from `from` to `to`. */
export interface DkgRound2Message extends EpochId {
  readonly from: number;
  readonly to: number;
  readonly share: Uint8Array;
}

/** Secret per-holder state between rounds. Opaque; never leaves the holder. */
export interface DkgState {
  readonly params: DkgParams;
  readonly index: number;
  readonly round: 1 | 2;
  readonly secret: DkgSecret;
}

export interface DkgResult {
  readonly key: HolderKey;
  readonly publicKeys: ThresholdPublicKeys;
}

const toId = (i: number) => FROST.Identifier.fromNumber(i);
function fromId(hex: string): number {
  let n = 0n;
  for (let i = hex.length - 2; i >= 0; i -= 2)
    n = (n << 8n) | BigInt(Number.parseInt(hex.slice(i, i + 2), 16));
  return Number(n);
}

function checkParams(p: DkgParams): DkgParams {
  checkEpochId(p);
  if (!Number.isInteger(p.holders) || p.holders < 2 || p.holders > 255) {
    throw new DkgError("holders: expected an integer in 2..255");
  }
  if (!Number.isInteger(p.threshold) || p.threshold < 2 || p.threshold > p.holders) {
    throw new DkgError("threshold: expected an integer in 2..holders");
  }
  return p;
}

function wrap<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PsiError) throw e;
    throw new DkgError(`${what}: ${(e as Error).message}`, { cause: e });
  }
}

const clone = (s: DkgSecret): DkgSecret => structuredClone(s);

/** Round 1: sample the polynomial, broadcast its commitments and a proof of knowledge. */
export function dkgRound1(
  params: DkgParams,
  index: number,
  rng: Rng = webCryptoRng,
): { state: DkgState; broadcast: DkgRound1Broadcast } {
  checkParams(params);
  checkHolderIndex(index);
  if (index > params.holders) throw new DkgError(`index ${index} outside 1..${params.holders}`);
  const r = wrap("round 1", () =>
    FROST.DKG.round1(toId(index), { min: params.threshold, max: params.holders }, undefined, (n?: number) =>
      rng(n ?? 32),
    ),
  );
  return {
    state: { params, index, round: 1, secret: r.secret },
    broadcast: {
      networkId: params.networkId,
      epoch: params.epoch,
      from: index,
      commitment: r.public.commitment.map((c) => c.slice()),
      proofOfKnowledge: r.public.proofOfKnowledge.slice(),
    },
  };
}

const POK_DST = ascii("FROST-RISTRETTO255-SHA512-v1dkg");

/** FROST paper Fig. 1 step 5: R = z·G − c·C_0 with c = H(id || C_0 || R); identifies the culprit. */
function checkBroadcast(params: DkgParams, b: DkgRound1Broadcast): void {
  if (!sameEpoch(b, params))
    throw new EpochMismatchError(`DKG broadcast of holder ${b.from} for another epoch`);
  if (b.commitment.length !== params.threshold) {
    throw new DkgComplaintError(b.from, `${b.commitment.length} commitments, expected ${params.threshold}`);
  }
  try {
    const c = b.commitment.map((x) => Point.fromBytes(x));
    if (c.some((p) => p.is0())) throw new Error("identity commitment");
    if (b.proofOfKnowledge.length !== 64) throw new Error("proof length");
    const rBytes = b.proofOfKnowledge.slice(0, 32);
    const R = Point.fromBytes(rBytes);
    const z = scalarToBigint(b.proofOfKnowledge.slice(32));
    if (z >= ORDER) throw new Error("non-canonical z");
    const idBytes = bigintToScalar(BigInt(b.from));
    const ch = scalarToBigint(sha512(concat(POK_DST, idBytes, b.commitment[0]!, rBytes))) % ORDER;
    const zG = z === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(z);
    const cC = ch === 0n ? Point.ZERO : c[0]!.multiplyUnsafe(ch);
    if (!R.equals(zG.subtract(cC))) throw new Error("proof of knowledge does not verify");
  } catch (e) {
    throw new DkgComplaintError(b.from, (e as Error).message);
  }
}

function othersOf(state: DkgState, broadcasts: readonly DkgRound1Broadcast[]): DkgRound1Broadcast[] {
  const others = broadcasts.filter((b) => b.from !== state.index);
  const seen = new Set<number>();
  for (const b of others) {
    checkHolderIndex(b.from);
    if (b.from > state.params.holders) throw new DkgComplaintError(b.from, "index outside the holder set");
    if (seen.has(b.from)) throw new DkgComplaintError(b.from, "more than one broadcast");
    seen.add(b.from);
  }
  if (others.length !== state.params.holders - 1) {
    throw new DkgError(
      `round 2 needs the ${state.params.holders - 1} other broadcasts, got ${others.length}`,
    );
  }
  return others.sort((a, b) => a.from - b.from);
}

const toNoble = (b: DkgRound1Broadcast) => ({
  identifier: toId(b.from),
  commitment: b.commitment.map((c) => c.slice()),
  proofOfKnowledge: b.proofOfKnowledge.slice(),
});

/** Round 2: verify the other holders' broadcasts, then address one private share to each of them. */
export function dkgRound2(
  state: DkgState,
  broadcasts: readonly DkgRound1Broadcast[],
): { state: DkgState; messages: DkgRound2Message[] } {
  if (state.round !== 1) throw new DkgError("round 2 needs a round-1 state");
  const others = othersOf(state, broadcasts);
  for (const b of others) checkBroadcast(state.params, b);
  const secret = clone(state.secret);
  const out = wrap("round 2", () => FROST.DKG.round2(secret, others.map(toNoble)));
  const messages = Object.entries(out).map(([to, m]) => ({
    networkId: state.params.networkId,
    epoch: state.params.epoch,
    from: state.index,
    to: fromId(to),
    share: m.signingShare.slice(),
  }));
  return { state: { ...state, round: 2, secret }, messages: messages.sort((a, b) => a.to - b.to) };
}

/** Feldman check (RFC 9591 App. C.2 vss_verify): share · G = Σ_k C_k · i^k. */
function checkShare(index: number, b: DkgRound1Broadcast, m: DkgRound2Message): void {
  try {
    const s = scalarToBigint(m.share);
    if (m.share.length !== 32 || s >= ORDER || s === 0n) throw new Error("malformed share");
    let expected = Point.ZERO;
    let pow = 1n;
    for (const c of b.commitment) {
      expected = expected.add(Point.fromBytes(c).multiplyUnsafe(pow));
      pow = (pow * BigInt(index)) % ORDER;
    }
    if (!Point.BASE.multiply(s).equals(expected)) throw new Error("share does not match its commitments");
  } catch (e) {
    throw new DkgComplaintError(m.from, (e as Error).message);
  }
}

/** Round 3: verify the shares received, derive this holder's key share and the epoch's public keys. */
export function dkgRound3(
  state: DkgState,
  broadcasts: readonly DkgRound1Broadcast[],
  received: readonly DkgRound2Message[],
): DkgResult {
  if (state.round !== 2) throw new DkgError("round 3 needs a round-2 state");
  const { params, index } = state;
  const others = othersOf(state, broadcasts);
  const byFrom = new Map<number, DkgRound2Message>();
  for (const m of received) {
    if (!sameEpoch(m, params))
      throw new EpochMismatchError(`DKG share of holder ${m.from} for another epoch`);
    if (m.to !== index) throw new DkgError(`share addressed to holder ${m.to}, this is holder ${index}`);
    if (byFrom.has(m.from)) throw new DkgComplaintError(m.from, "more than one share");
    byFrom.set(m.from, m);
  }
  for (const b of others) {
    const m = byFrom.get(b.from);
    if (!m) throw new DkgComplaintError(b.from, "no share received");
    checkShare(index, b, m);
  }
  if (byFrom.size !== others.length) throw new DkgError("shares from holders that did not broadcast");
  const secret = clone(state.secret);
  const key = wrap("round 3", () =>
    FROST.DKG.round3(
      secret,
      others.map(toNoble),
      others.map((b) => ({ identifier: toId(b.from), signingShare: byFrom.get(b.from)!.share.slice() })),
    ),
  );
  const publicShares = new Map<number, Uint8Array>();
  for (const [id, pk] of Object.entries(key.public.verifyingShares)) publicShares.set(fromId(id), pk.slice());
  const publicKeys: ThresholdPublicKeys = {
    networkId: params.networkId,
    epoch: params.epoch,
    threshold: params.threshold,
    groupPublicKey: key.public.commitments[0]!.slice(),
    publicShares,
  };
  return {
    key: {
      networkId: params.networkId,
      epoch: params.epoch,
      index,
      secretShare: key.secret.signingShare.slice(),
      publicShare: publicShares.get(index)!,
    },
    publicKeys,
  };
}
