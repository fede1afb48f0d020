/**
 * Loads build/ristretto.node (native/ristretto.c, built by scripts/build.mjs against the system libsodium).
 * Never throws: a missing or unloadable addon comes back as a reason the caller logs.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The addon's raw exports: flat buffers of 32-byte items; domain errors carry `code` and `index`. */
export interface RawAddon {
  readonly sodiumVersion: string;
  mulMany(scalar: Uint8Array, points: Uint8Array): Uint8Array;
  mulEach(scalars: Uint8Array, points: Uint8Array): Uint8Array;
  mulSum(scalars: Uint8Array, points: Uint8Array): Uint8Array;
  /**
   * Σ k_i·P_i by Straus / Pippenger in native/msm.c — VARIABLE TIME, public inputs only (ADR 0039). Zero scalars
   * and identity points allowed; errors SCALAR_NONCANONICAL / POINT_INVALID with the first bad `index`.
   */
  msm(scalars: Uint8Array, points: Uint8Array): Uint8Array;
  msmAsync(scalars: Uint8Array, points: Uint8Array): Promise<Uint8Array>;
  /** msm.c's RFC 9496 decode then encode of every element (tests compare it with libsodium). */
  reencodeMany(points: Uint8Array): Uint8Array;
  hashToGroupMany(messages: Uint8Array, offsets: Uint32Array, dst: Uint8Array): Uint8Array;
  validateMany(points: Uint8Array): void;
  mulManyAsync(scalar: Uint8Array, points: Uint8Array): Promise<Uint8Array>;
  mulEachAsync(scalars: Uint8Array, points: Uint8Array): Promise<Uint8Array>;
  hashToGroupManyAsync(messages: Uint8Array, offsets: Uint32Array, dst: Uint8Array): Promise<Uint8Array>;
  validateManyAsync(points: Uint8Array): Promise<void>;
  /** RFC 9496 §4.3.4 one-way map of 64 bytes (crypto_core_ristretto255_from_hash). */
  fromUniformBytes(uniform: Uint8Array): Uint8Array;
  mulBase(scalar: Uint8Array): Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  scalarMul(a: Uint8Array, b: Uint8Array): Uint8Array;
  scalarAdd(a: Uint8Array, b: Uint8Array): Uint8Array;
  scalarSub(a: Uint8Array, b: Uint8Array): Uint8Array;
  scalarInvert(a: Uint8Array): Uint8Array;
  /** Inverses of n scalars with one inversion (Montgomery's trick over libsodium's scalar_mul). */
  scalarInvertMany(scalars: Uint8Array): Uint8Array;
  scalarReduce(wide: Uint8Array): Uint8Array;
}

/** Where the build puts the addon. */
export const ADDON_PATH = new URL("../build/ristretto.node", import.meta.url);

let cached: { addon: RawAddon } | { reason: string } | undefined;

export function loadAddon(): { addon: RawAddon } | { reason: string } {
  cached ??= (() => {
    try {
      return { addon: createRequire(import.meta.url)(fileURLToPath(ADDON_PATH)) as RawAddon };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === "MODULE_NOT_FOUND")
        return {
          reason:
            "native addon not built (needs libsodium-dev and a C compiler: npm run build -w @relink/ristretto-native)",
        };
      return { reason: `native addon failed to load: ${err.message.split("\n")[0]}` };
    }
  })();
  return cached;
}
