import { scalarToBigint } from "../../src/group.ts";

/**
 * An Rng that replays fixed scalars: each 64-byte request returns the next scalar little-endian, zero
 * padded, which RandomScalar's reduction mod L maps back to that scalar (used to replay RFC 9497 blinds
 * and proof nonces).
 */
export function replayScalars(...scalars: Uint8Array[]): (n: number) => Uint8Array {
  const queue = [...scalars];
  return (n: number) => {
    const s = queue.shift();
    if (!s || n !== 64) throw new Error(`replayScalars: unexpected request for ${n} bytes`);
    const out = new Uint8Array(64);
    out.set(s);
    return out;
  };
}

/** Deterministic test RNG (xorshift-based, NOT cryptographic) so property tests replay from a seed. */
export function seededRng(seed: number): (n: number) => Uint8Array {
  let x = BigInt(seed) | 1n;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= (x << 13n) & 0xffffffffffffffffn;
      x ^= x >> 7n;
      x ^= (x << 17n) & 0xffffffffffffffffn;
      out[i] = Number(x & 0xffn);
    }
    return out;
  };
}

export { scalarToBigint };
