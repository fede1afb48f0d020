/**
 * Exact discrete Laplace (two-sided geometric) sampling for aggregate-mode exposure results
 * (docs/protocol/exposure-he.md §5). The sampler is Canonne, Kamath and Steinke, "The Discrete Gaussian for
 * Differential Privacy" (NeurIPS 2020), Algorithms 1 and 2: integer arithmetic only, no floating point, so
 * the distribution is exact (no Mironov-style floating-point leakage). P(X = x) ∝ exp(−|x| / scale).
 */

/** Fills the array with uniformly random bytes (crypto.getRandomValues by default; tests inject a seeded one). */
export type RandomSource = (bytes: Uint8Array) => Uint8Array;

export const cryptoRandom: RandomSource = (bytes) => {
  // getRandomValues fills at most 65,536 bytes per call.
  for (let at = 0; at < bytes.length; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
};

/** Uniform integer in [0, n), n ≥ 1, by rejection sampling. */
export function uniformBelow(rng: RandomSource, n: bigint): bigint {
  if (n < 1n) throw new RangeError("uniformBelow: n must be ≥ 1");
  if (n === 1n) return 0n;
  const bits = (n - 1n).toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  const buf = new Uint8Array(bytes);
  for (;;) {
    rng(buf);
    let v = 0n;
    for (const b of buf) v = (v << 8n) | BigInt(b);
    v &= mask;
    if (v < n) return v;
  }
}

/** Bernoulli(num / den), 0 ≤ num ≤ den. */
function bernoulli(rng: RandomSource, num: bigint, den: bigint): boolean {
  return uniformBelow(rng, den) < num;
}

/** Bernoulli(exp(−num/den)) for num, den ≥ 0 integers (CKS 2020, Algorithm 1). */
export function bernoulliExp(rng: RandomSource, num: bigint, den: bigint): boolean {
  if (num <= den) {
    let k = 1n;
    while (bernoulli(rng, num, den * k)) k++;
    return k % 2n === 1n;
  }
  for (let i = 0n; i < num / den; i++) if (!bernoulliExp(rng, 1n, 1n)) return false;
  return bernoulliExp(rng, num % den, den);
}

/** One sample of the discrete Laplace distribution with integer scale ≥ 1 (CKS 2020, Algorithm 2, s = 1). */
export function discreteLaplace(rng: RandomSource, scale: number): number {
  if (!Number.isSafeInteger(scale) || scale < 1) throw new RangeError("discreteLaplace: integer scale ≥ 1");
  const t = BigInt(scale);
  for (;;) {
    const u = uniformBelow(rng, t);
    if (!bernoulliExp(rng, u, t)) continue;
    let v = 0n;
    while (bernoulliExp(rng, 1n, 1n)) v++;
    const x = u + t * v;
    const negative = bernoulli(rng, 1n, 2n);
    if (negative && x === 0n) continue;
    return Number(negative ? -x : x);
  }
}
