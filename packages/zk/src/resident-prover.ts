/**
 * A Groth16 prover whose proving key stays parsed in memory (ADR 0048): snarkjs' `groth16.prove` re-reads
 * the zkey's header and sections on every call and builds the QAP evaluations A, B, C in JavaScript, one
 * field multiplication (and three buffer copies) per R1CS coefficient — 78,710 of them for the consent
 * circuit, 7–13 % of a proof. Here, once per worker:
 *
 *  - the zkey's header and point sections are parsed once and kept (`parseZkey`);
 *  - the B sections (G1 and G2) keep only the wires whose B point is not the point at infinity (a third of
 *    the consent circuit's wires appear in no B term), so the G2 multi-exponentiation — the largest single
 *    part of a proof — runs over two thirds of the pairs;
 *
 * and per proof the QAP evaluations are built by ffjavascript's own WebAssembly routine `qap_buildABC`
 * (wasmcurves' build_qap.js, the same Montgomery multiplication and addition per coefficient as snarkjs'
 * JavaScript loop), in one call. Everything else is snarkjs 0.7.6's `groth16Prove` step for step: the same
 * FFTs and coset shift, `qap_joinABC`, the five multi-exponentiations on the same bases, and the blinding
 * with fresh random r, s from the curve's field (Groth 2016, §3.2):
 *   A = α + Σ wᵢ·Aᵢ + r·δ,  B = β + Σ wᵢ·Bᵢ + s·δ,  C = Σ_{private} wᵢ·Cᵢ + H + s·A + r·B₁ − r·s·δ.
 * Held to snarkjs by circuits/test/groth16.test.ts (its proofs verify under snarkjs' verifier and ours, and
 * have the witness' public signals).
 */
import { utils } from "ffjavascript";
import type { Groth16Proof } from "snarkjs";
import { ZkError } from "./errors.ts";

// biome-ignore lint/suspicious/noExplicitAny: ffjavascript ships no types; the curve is used through a few calls.
type Curve = any;

/** The sections of an iden3 binary file ("zkey", "wtns"): type → [offset, size] of its first occurrence. */
function sections(bytes: Uint8Array, magic: string): Map<number, Uint8Array> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = String.fromCharCode(...bytes.subarray(0, 4));
  if (tag !== magic) throw new ZkError("INVALID_ENCODING", `${magic}: not a ${magic} file`);
  const n = dv.getUint32(8, true);
  const out = new Map<number, Uint8Array>();
  let p = 12;
  for (let i = 0; i < n; i++) {
    if (p + 12 > bytes.length) throw new ZkError("INVALID_ENCODING", `${magic}: truncated section table`);
    const type = dv.getUint32(p, true);
    const size = Number(dv.getBigUint64(p + 4, true));
    p += 12;
    if (p + size > bytes.length) throw new ZkError("INVALID_ENCODING", `${magic}: truncated section ${type}`);
    if (!out.has(type)) out.set(type, bytes.subarray(p, p + size));
    p += size;
  }
  return out;
}

export interface ParsedZkey {
  nVars: number;
  nPublic: number;
  domainSize: number;
  power: number;
  alpha1: Uint8Array;
  beta1: Uint8Array;
  beta2: Uint8Array;
  delta1: Uint8Array;
  delta2: Uint8Array;
  /** Coefficients (section 4) without their count. */
  coeffs: Uint8Array;
  nCoeffs: number;
  pointsA: Uint8Array;
  /** Wires with a B point other than infinity, and their G1 / G2 points in that order. */
  bWires: Uint32Array;
  pointsB1: Uint8Array;
  pointsB2: Uint8Array;
  pointsC: Uint8Array;
  pointsH: Uint8Array;
}

/** Parses a Groth16 zkey (BN254) once: header, coefficients and point sections, B compacted. */
export function parseZkey(curve: Curve, zkey: Uint8Array): ParsedZkey {
  const s = sections(zkey, "zkey");
  const need = (t: number) => {
    const x = s.get(t);
    if (!x) throw new ZkError("INVALID_ENCODING", `zkey: section ${t} missing`);
    return x;
  };
  if (new DataView(need(1).buffer, need(1).byteOffset).getUint32(0, true) !== 1) {
    throw new ZkError("INVALID_ENCODING", "zkey: not a Groth16 key");
  }
  const h = need(2);
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const n8q = dv.getUint32(0, true);
  const n8r = dv.getUint32(4 + n8q, true);
  if (n8q !== curve.G1.F.n8 || n8r !== curve.Fr.n8) throw new ZkError("INVALID_ENCODING", "zkey: not BN254");
  let p = 8 + n8q + n8r;
  const nVars = dv.getUint32(p, true);
  const nPublic = dv.getUint32(p + 4, true);
  const domainSize = dv.getUint32(p + 8, true);
  p += 12;
  const g1 = () => {
    const v = curve.G1.fromRprLEM(h, p);
    p += 2 * n8q;
    return v;
  };
  const g2 = () => {
    const v = curve.G2.fromRprLEM(h, p);
    p += 4 * n8q;
    return v;
  };
  const alpha1 = g1();
  const beta1 = g1();
  const beta2 = g2();
  g2(); // gamma2: verification only
  const delta1 = g1();
  const delta2 = g2();
  const c = need(4);
  const nCoeffs = new DataView(c.buffer, c.byteOffset).getUint32(0, true);
  const sG1 = 2 * n8q;
  const sG2 = 4 * n8q;
  const b1 = need(6);
  const b2 = need(7);
  if (b1.length !== nVars * sG1 || b2.length !== nVars * sG2 || need(5).length !== nVars * sG1) {
    throw new ZkError("INVALID_ENCODING", "zkey: point sections do not match nVars");
  }
  const wires: number[] = [];
  for (let i = 0; i < nVars; i++) {
    if (b2.subarray(i * sG2, (i + 1) * sG2).some((x) => x !== 0)) wires.push(i);
  }
  const bWires = Uint32Array.from(wires);
  const pointsB1 = new Uint8Array(bWires.length * sG1);
  const pointsB2 = new Uint8Array(bWires.length * sG2);
  bWires.forEach((w, j) => {
    pointsB1.set(b1.subarray(w * sG1, (w + 1) * sG1), j * sG1);
    pointsB2.set(b2.subarray(w * sG2, (w + 1) * sG2), j * sG2);
  });
  return {
    nVars,
    nPublic,
    domainSize,
    power: Math.log2(domainSize),
    alpha1,
    beta1,
    beta2,
    delta1,
    delta2,
    coeffs: c.slice(4),
    nCoeffs,
    pointsA: need(5).slice(),
    bWires,
    pointsB1,
    pointsB2,
    pointsC: need(8).slice(),
    pointsH: need(9).slice(),
  };
}

/** The witness values (section 2 of a .wtns file), checked against the key's number of wires. */
function witnessOf(curve: Curve, z: ParsedZkey, wtns: Uint8Array): Uint8Array {
  const s = sections(wtns, "wtns");
  const w = s.get(2);
  if (!w || w.length !== z.nVars * curve.Fr.n8) {
    throw new ZkError("INVALID_INPUT", `witness: ${z.nVars} values expected`);
  }
  return w;
}

/** One Groth16 proof on a parsed key and a .wtns witness (snarkjs' groth16Prove, resident key). */
export async function proveResident(
  curve: Curve,
  z: ParsedZkey,
  wtns: Uint8Array,
  logger?: { debug(message: string): void },
): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
  const { Fr, G1, G2 } = curve;
  const mark = (m: string) => logger?.debug(m);
  mark("Building ABC");
  const n8 = Fr.n8;
  const w = witnessOf(curve, z, wtns);
  const size = z.domainSize * n8;
  const [a, b, c] = (await curve.tm.queueAction([
    { cmd: "ALLOCSET", var: 0, buff: z.coeffs },
    { cmd: "ALLOCSET", var: 1, buff: w },
    { cmd: "ALLOC", var: 2, len: size },
    { cmd: "ALLOC", var: 3, len: size },
    { cmd: "ALLOC", var: 4, len: size },
    {
      cmd: "CALL",
      fnName: "qap_buildABC",
      params: [
        { var: 0 },
        { val: z.nCoeffs },
        { var: 1 },
        { var: 2 },
        { var: 3 },
        { var: 4 },
        { val: 0 },
        { val: z.domainSize },
        { val: 0 },
        { val: z.nVars },
      ],
    },
    { cmd: "GET", out: 0, var: 2, len: size },
    { cmd: "GET", out: 1, var: 3, len: size },
    { cmd: "GET", out: 2, var: 4, len: size },
  ])) as Uint8Array[];
  mark("FFT");
  const inc = z.power === Fr.s ? Fr.shift : Fr.w[z.power + 1];
  const odd = async (t: Uint8Array) => Fr.fft(await Fr.batchApplyKey(await Fr.ifft(t), Fr.e(1), inc));
  const aOdd = await odd(a!);
  const bOdd = await odd(b!);
  const cOdd = await odd(c!);
  mark("Join ABC");
  const [h] = (await curve.tm.queueAction([
    { cmd: "ALLOCSET", var: 0, buff: aOdd },
    { cmd: "ALLOCSET", var: 1, buff: bOdd },
    { cmd: "ALLOCSET", var: 2, buff: cOdd },
    { cmd: "ALLOC", var: 3, len: size },
    {
      cmd: "CALL",
      fnName: "qap_joinABC",
      params: [{ var: 0 }, { var: 1 }, { var: 2 }, { val: z.domainSize }, { var: 3 }],
    },
    {
      cmd: "CALL",
      fnName: "frm_batchFromMontgomery",
      params: [{ var: 3 }, { val: z.domainSize }, { var: 3 }],
    },
    { cmd: "GET", out: 0, var: 3, len: size },
  ])) as Uint8Array[];
  const wB = new Uint8Array(z.bWires.length * n8);
  z.bWires.forEach((i, j) => {
    wB.set(w.subarray(i * n8, (i + 1) * n8), j * n8);
  });
  mark("multiexp A");
  let pa = await G1.multiExpAffine(z.pointsA, w);
  mark("multiexp B1");
  let pb1 = await G1.multiExpAffine(z.pointsB1, wB);
  mark("multiexp B2");
  let pb = await G2.multiExpAffine(z.pointsB2, wB);
  mark("multiexp C");
  let pc = await G1.multiExpAffine(z.pointsC, w.subarray((z.nPublic + 1) * n8));
  mark("multiexp H");
  const ph = await G1.multiExpAffine(z.pointsH, h!);
  mark("blinding");
  const r = Fr.random();
  const s = Fr.random();
  pa = G1.add(G1.add(pa, z.alpha1), G1.timesFr(z.delta1, r));
  pb = G2.add(G2.add(pb, z.beta2), G2.timesFr(z.delta2, s));
  pb1 = G1.add(G1.add(pb1, z.beta1), G1.timesFr(z.delta1, s));
  pc = G1.add(pc, ph);
  pc = G1.add(pc, G1.timesFr(pa, s));
  pc = G1.add(pc, G1.timesFr(pb1, r));
  pc = G1.add(pc, G1.timesFr(z.delta1, Fr.neg(Fr.mul(r, s))));
  const publicSignals: string[] = [];
  for (let i = 1; i <= z.nPublic; i++) {
    publicSignals.push(utils.leBuff2int(w.subarray(i * n8, (i + 1) * n8)).toString());
  }
  const proof = utils.stringifyBigInts({
    pi_a: G1.toObject(G1.toAffine(pa)),
    pi_b: G2.toObject(G2.toAffine(pb)),
    pi_c: G1.toObject(G1.toAffine(pc)),
    protocol: "groth16",
    curve: "bn128",
  }) as Groth16Proof;
  return { proof, publicSignals };
}
