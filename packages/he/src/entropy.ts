/**
 * The entropy criterion for key and ciphertext polynomials (ADR 0030, "Validation").
 *
 * In an honest public key (b, a) = (−(a·s + e), a) and in an honest ciphertext's second polynomial
 * c1 = a·u + e1, every RNS limb is uniform modulo its prime q_i (q_i ≥ 2^49). For N uniform residues:
 *   - repeats are counted on the values' low 32-bit words (a superset of repeated values); among N uniform
 *     residues about N²/2^33 < 0.01 collide, so at most REPEAT_SLACK = 16 are tolerated;
 *   - a residue's centred magnitude is below q_i / 2^8 with probability 2^-7 (N/128 expected, 32 at
 *     N = 4096), so more than N/16 such "small" residues (8× the mean, > 40 σ) means the limb is not
 *     uniform — e.g. a key whose b is a small-norm polynomial, which makes ciphertexts readable by anyone.
 * A limb that is all zero is reported as such. False rejection of an honest object is below 2^-100.
 */

export const REPEAT_SLACK = 16;
export const SMALL_SHIFT = 8;

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

export type EntropyVerdict = "ok" | "zero" | "repeated" | "small";

/**
 * One zeroed hash table per size, reused: allocating a fresh 64 KiB Float64Array per limb (two per
 * ciphertext, 4,400 ciphertexts per portfolio round) made the hub's validation ≈ 4× slower than the same
 * check in a small process — off-heap allocations and the garbage collections they trigger in a large
 * heap. JS is single-threaded per isolate, and limbVerdict does not re-enter, so one table is enough.
 */
const tables = new Map<number, Float64Array>();
function scratch(size: number): Float64Array {
  let t = tables.get(size);
  if (t) t.fill(0);
  else {
    t = new Float64Array(size);
    tables.set(size, t);
  }
  return t;
}

export function limbVerdict(limb: BigUint64Array, q: bigint): EntropyVerdict {
  // Works on the little-endian 32-bit halves, without bigint arithmetic (this runs on every ciphertext
  // the hub receives). Repeats are counted on the low 32-bit words: equal values have equal low words,
  // and among N uniform residues the expected number of low-word collisions is N²/2^33 < 0.01.
  const n = limb.length;
  const words = new Uint32Array(limb.buffer, limb.byteOffset, 2 * n);
  // Open-addressing hash set of low words (size a power of two ≥ 2n; slot value lo + 1, 0 = empty). Uniform
  // words need ≈ 1.5 probes each; more than 32 per value on average means crafted, clustered words — not
  // uniform, and refused without letting the probing go quadratic.
  const bits = Math.max(4, Math.ceil(Math.log2(2 * n)));
  const table = scratch(1 << bits);
  const mask = (1 << bits) - 1;
  let repeats = 0;
  let probes = 0;
  const qf = Number(q);
  const bound = qf / 2 ** SMALL_SHIFT;
  let zeros = 0;
  let small = 0;
  for (let i = 0; i < n; i++) {
    const lo = words[LO + 2 * i] as number;
    const hi = words[HI + 2 * i] as number;
    let h = Math.imul(lo, 0x9e3779b1) >>> (32 - bits);
    for (;;) {
      const e = table[h] as number;
      if (e === 0) {
        table[h] = lo + 1;
        break;
      }
      if (e === lo + 1) {
        repeats++;
        break;
      }
      h = (h + 1) & mask;
      if (++probes > 32 * n) return "repeated";
    }
    if (lo === 0 && hi === 0) zeros++;
    const x = hi * 2 ** 32 + lo; // within 2^8 of the exact value: immaterial at a q/2^8 threshold
    if (Math.min(x, qf - x) < bound) small++;
  }
  if (zeros === n) return "zero";
  if (repeats > REPEAT_SLACK) return "repeated";
  if (small > n / 16) return "small";
  return "ok";
}
