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

export { seededRng } from "../../src/testing.ts";
export { scalarToBigint };
