/**
 * Test helpers: crafting hostile keys and ciphertexts. A second node-seal instance (tests only) builds
 * the same parameters as a preset, so it can re-save keys unseeded, move polynomials to NTT form and make
 * ciphertexts of other parameters; the bytes are then fed to the package under test.
 */

import type { MainModule, SEALContext } from "node-seal";
import SEAL from "node-seal";
import { envelopeOverhead, unwrap, wrap } from "../src/envelope.ts";
import { PRESETS, type PresetId } from "../src/presets.ts";
import { parseCiphertextBytes, SEAL_DATA_OFFSET } from "../src/seal-format.ts";

let sealPromise: Promise<MainModule> | undefined;
export function craftSeal(): Promise<MainModule> {
  sealPromise ??= SEAL();
  return sealPromise;
}

export function sealContext(
  seal: MainModule,
  n: number,
  bits: readonly number[],
  plainBits: number,
): SEALContext {
  const parms = new seal.EncryptionParameters(seal.SchemeType.bfv);
  const coeff = seal.CoeffModulus.Create(n, Int32Array.from(bits));
  const plain = seal.PlainModulus.Batching(n, plainBits);
  parms.setPolyModulusDegree(n);
  parms.setCoeffModulus(coeff);
  parms.setPlainModulus(plain);
  const ctx = new seal.SEALContext(parms, true, seal.SecLevelType.tc128);
  parms.delete();
  coeff.delete();
  plain.delete();
  return ctx;
}

export function presetContext(seal: MainModule, id: PresetId): SEALContext {
  const p = PRESETS[id];
  return sealContext(seal, p.polyModulusDegree, p.coeffModulusBits, p.plainModulusBits);
}

/** The SEAL payload inside an envelope. */
export function payloadOf(envelope: Uint8Array): Uint8Array {
  return Uint8Array.from(unwrap(envelope).payload);
}

/** Re-wraps a SEAL payload in a public-key or ciphertext envelope. */
export function rewrap(kind: "publicKey" | "ciphertext", id: string, payload: Uint8Array): Uint8Array {
  return wrap(kind, id, payload);
}

/** The full (unseeded) SEAL serialization of a seeded public-key envelope. */
export async function fullPublicKey(id: PresetId, envelope: Uint8Array): Promise<Uint8Array> {
  const seal = await craftSeal();
  const ctx = presetContext(seal, id);
  const pk = new seal.PublicKey();
  try {
    pk.loadFromArray(ctx, payloadOf(envelope));
    return Uint8Array.from(pk.saveToArray(seal.ComprModeType.none) as Uint8Array);
  } finally {
    pk.delete();
    ctx.delete();
  }
}

/** A copy of an unseeded SEAL ciphertext/key serialization with its coefficient data replaced. */
export function withData(template: Uint8Array, data: BigUint64Array): Uint8Array {
  const out = Uint8Array.from(template);
  const dv = new DataView(out.buffer);
  const layout = parseCiphertextBytes(template);
  if (layout.data.length !== data.length) throw new Error("data length mismatch");
  for (let i = 0; i < data.length; i++) dv.setBigUint64(SEAL_DATA_OFFSET + 8 * i, data[i] as bigint, true);
  return out;
}

export function dataOf(template: Uint8Array): BigUint64Array {
  return parseCiphertextBytes(template).data;
}

/** Re-encodes a ciphertext serialization with `size` polynomials (data truncated or repeated). */
export function withSize(template: Uint8Array, size: number): Uint8Array {
  const l = parseCiphertextBytes(template);
  const per = l.polyModulusDegree * l.coeffModulusSize;
  const count = size * per;
  const out = new Uint8Array(SEAL_DATA_OFFSET + 8 * count);
  out.set(template.subarray(0, SEAL_DATA_OFFSET));
  const dv = new DataView(out.buffer);
  dv.setBigUint64(8, BigInt(out.length), true);
  dv.setBigUint64(49, BigInt(size), true);
  dv.setBigUint64(89 + 8, BigInt(16 + 8 + 8 * count), true);
  dv.setBigUint64(105, BigInt(count), true);
  for (let i = 0; i < count; i++)
    dv.setBigUint64(SEAL_DATA_OFFSET + 8 * i, l.data[i % l.data.length] as bigint, true);
  return out;
}

/**
 * NTT form, at the key level of preset `id`, of a random polynomial with coefficients in [0, 2^20): a
 * "public key" polynomial b that is small in the coefficient domain yet looks uniform in the NTT domain.
 */
export async function smallPolyNtt(id: PresetId): Promise<BigUint64Array> {
  const seal = await craftSeal();
  const ctx = presetContext(seal, id);
  const n = PRESETS[id].polyModulusDegree;
  const evaluator = new seal.Evaluator(ctx);
  const pt = new seal.Plaintext(n);
  const keyParms = ctx.keyParmsId();
  try {
    // Plaintext has no coefficient setter in v7: write the coefficients into its own serialization.
    const bytes = Uint8Array.from(pt.saveToArray(seal.ComprModeType.none) as Uint8Array);
    const dv = new DataView(bytes.buffer);
    const dataStart = bytes.length - 8 * n;
    for (let i = 0; i < n; i++)
      dv.setBigUint64(dataStart + 8 * i, BigInt(Math.floor(Math.random() * 2 ** 20)), true);
    pt.loadFromArray(ctx, bytes);
    evaluator.plainTransformToNttInplace(pt, keyParms);
    const saved = Uint8Array.from(pt.saveToArray(seal.ComprModeType.none) as Uint8Array);
    const k = PRESETS[id].coeffModulusBits.length;
    const view = new DataView(saved.buffer);
    const start = saved.length - 8 * n * k;
    return BigUint64Array.from({ length: n * k }, (_, i) => view.getBigUint64(start + 8 * i, true));
  } finally {
    keyParms.delete();
    pt.delete();
    evaluator.delete();
    ctx.delete();
  }
}

/** A valid-looking ciphertext envelope for `id` made under other parameters (same N and moduli, other t). */
export async function foreignCiphertext(id: PresetId, plainBits: number): Promise<Uint8Array> {
  const seal = await craftSeal();
  const p = PRESETS[id];
  const ctx = sealContext(seal, p.polyModulusDegree, p.coeffModulusBits, plainBits);
  const kg = new seal.KeyGenerator(ctx);
  const pk = kg.createPublicKey();
  const enc = new seal.Encryptor(ctx, pk);
  const ct = new seal.Ciphertext();
  try {
    enc.encryptZero(ct);
    return wrap("ciphertext", id, Uint8Array.from(ct.saveToArray(seal.ComprModeType.none) as Uint8Array));
  } finally {
    ct.delete();
    enc.delete();
    pk.delete();
    kg.delete();
    ctx.delete();
  }
}

export { envelopeOverhead };
