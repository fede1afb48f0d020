/**
 * `npm run bench -- he`: per-ciphertext costs of @relink/he, each beside the same operation done with raw
 * node-seal calls in the same run (a second WASM instance with the same parameters) — the floor the facade's
 * checks and wrapping add to. These are the baselines the exposure benchmark derives its floors from
 * (a lender: ciphertexts × encrypt; the hub: additions and re-randomisations; the querier: decryptions).
 * Sizes are exact serialized sizes, envelope included.
 */
import SEAL from "node-seal";
import { type HeContext, loadHe, type PresetId } from "../src/index.ts";
import { presetContext } from "../test/helpers.ts";

const ROUNDS = 5;
const BLOCK = 40;

/** Median over ROUNDS of the mean time per call (ms) of `f` in blocks of BLOCK calls. */
function timeIt(f: (i: number) => void, block = BLOCK): number {
  for (let i = 0; i < 5; i++) f(i);
  const means: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < block; i++) f(i);
    means.push((performance.now() - t0) / block);
  }
  means.sort((a, b) => a - b);
  return means[Math.floor(ROUNDS / 2)] as number;
}

async function measure(id: PresetId, c: HeContext) {
  const raw = await SEAL();
  const ctx = presetContext(raw, id);
  const kg = new raw.KeyGenerator(ctx);
  const rpk = kg.createPublicKey();
  const rsk = kg.secretKey();
  const renc = new raw.Encryptor(ctx, rpk);
  const rdec = new raw.Decryptor(ctx, rsk);
  const rbe = new raw.BatchEncoder(ctx);
  const rev = new raw.Evaluator(ctx);
  const none = raw.ComprModeType.none;

  const t = c.plainModulus;
  const values = Array.from({ length: c.slotCount }, (_, i) => (BigInt(i) * 2654435761n) % t);
  const typed = BigUint64Array.from(values);
  const kp = c.keygen();
  const pk = kp.publicKey;
  const sk = kp.secretKey;
  const pkBytes = c.savePublicKey(pk);

  const out: Record<string, number> = {};
  // encode + encrypt
  out["encrypt_ms"] = timeIt(() => c.encrypt(pk, values).dispose());
  out["raw_encrypt_ms"] = timeIt(() => {
    const pt = new raw.Plaintext();
    const ct = new raw.Ciphertext();
    rbe.encode(typed, pt);
    renc.encrypt(pt, ct);
    pt.delete();
    ct.delete();
  });
  // add (in place, as the hub accumulates)
  const a = c.encrypt(pk, values);
  const b = c.encrypt(pk, values);
  out["add_us"] = 1000 * timeIt(() => c.addInPlace(a, b), 1000);
  const pt0 = new raw.Plaintext();
  rbe.encode(typed, pt0);
  const ra = new raw.Ciphertext();
  const rb = new raw.Ciphertext();
  renc.encrypt(pt0, ra);
  renc.encrypt(pt0, rb);
  out["raw_add_us"] = 1000 * timeIt(() => rev.addInplace(ra, rb), 1000);
  // re-randomise (fresh encryption of zero + add)
  out["rerandomize_ms"] = timeIt(() => c.rerandomize(b, pk).dispose());
  out["raw_rerandomize_ms"] = timeIt(() => {
    const z = new raw.Ciphertext();
    const o = new raw.Ciphertext();
    renc.encryptZero(z);
    rev.add(rb, z, o);
    z.delete();
    o.delete();
  });
  // decrypt + decode
  out["decrypt_ms"] = timeIt(() => c.decrypt(sk, b));
  out["decrypt_nocheck_ms"] = timeIt(() => c.decrypt(sk, b, { checkNoise: false }));
  out["raw_decrypt_ms"] = timeIt(() => {
    const pt = new raw.Plaintext();
    rdec.decrypt(rb, pt);
    rbe.decodeBigUint64(pt);
    pt.delete();
  });
  // serialization with validation vs raw SEAL load
  const ctBytes = c.saveCiphertext(b);
  const rctBytes = rb.saveToArray(none) as Uint8Array;
  out["save_ct_ms"] = timeIt(() => c.saveCiphertext(b));
  out["load_ct_ms"] = timeIt(() => c.loadCiphertext(ctBytes).dispose());
  out["raw_load_ct_ms"] = timeIt(() => {
    const x = new raw.Ciphertext();
    x.loadFromArray(ctx, rctBytes);
    x.delete();
  });
  const rpkBytes = kg.createPublicKeySerializable();
  const rpkArr = rpkBytes.saveToArray(none) as Uint8Array;
  rpkBytes.delete();
  out["load_pk_ms"] = timeIt(() => c.loadPublicKey(pkBytes).dispose(), 10);
  out["raw_load_pk_ms"] = timeIt(() => {
    const x = new raw.PublicKey();
    x.loadFromArray(ctx, rpkArr);
    x.delete();
  }, 10);
  out["keygen_ms"] = timeIt(() => c.keygen().dispose(), 10);
  if (c.preset.plainMultiply.kind === "vector") {
    const mask = values.map((v) => v & 1n);
    out["multiply_plain_ms"] = timeIt(() => c.multiplyPlain(b, mask, pk).dispose());
    out["raw_multiply_plain_ms"] = timeIt(() => {
      const pt = new raw.Plaintext();
      const o = new raw.Ciphertext();
      rbe.encode(BigUint64Array.from(mask), pt);
      rev.multiplyPlain(rb, pt, o);
      pt.delete();
      o.delete();
    });
  }
  out["ct_bytes"] = c.serializedBytes.ciphertext;
  out["pk_bytes"] = c.serializedBytes.publicKey;
  out["slots"] = c.slotCount;

  for (const x of [pt0, ra, rb, renc, rdec, rbe, rev, rpk, rsk, kg, ctx]) x.delete();
  a.dispose();
  b.dispose();
  kp.dispose();
  return out;
}

const ratio = (x: number | undefined, y: number | undefined) =>
  x !== undefined && y !== undefined && y > 0 ? (x / y).toFixed(2) : "";

async function main() {
  const he = await loadHe();
  const t0 = performance.now();
  const add = he.context("bfv-4096-add-v1");
  const ctxAddMs = performance.now() - t0;
  const t1 = performance.now();
  const mul = he.context("bfv-8192-mul-v1");
  const ctxMulMs = performance.now() - t1;
  const figures: Record<string, number> = {};
  for (const [prefix, c] of [
    ["add", add],
    ["mul", mul],
  ] as const) {
    const m = await measure(c.id, c);
    console.log(`\n${c.id} (N = ${c.slotCount}; per ciphertext)\n`);
    console.log("| operation | facade | raw node-seal (same run) | ratio |\n|---|---|---|---|");
    const row = (label: string, k: string, rk: string | undefined, unit: string) =>
      console.log(
        `| ${label} | ${m[k]?.toFixed(3)} ${unit} | ${rk ? `${m[rk]?.toFixed(3)} ${unit}` : ""} | ${rk ? ratio(m[k], m[rk]) : ""} |`,
      );
    row("encode + encrypt", "encrypt_ms", "raw_encrypt_ms", "ms");
    row("add (in place)", "add_us", "raw_add_us", "µs");
    row("re-randomise", "rerandomize_ms", "raw_rerandomize_ms", "ms");
    row("decrypt + decode, noise checked", "decrypt_ms", "raw_decrypt_ms", "ms");
    row("decrypt + decode, unchecked", "decrypt_nocheck_ms", "raw_decrypt_ms", "ms");
    if (m["multiply_plain_ms"] !== undefined)
      row("multiply by plain vector", "multiply_plain_ms", "raw_multiply_plain_ms", "ms");
    row("save ciphertext", "save_ct_ms", undefined, "ms");
    row("load + validate ciphertext", "load_ct_ms", "raw_load_ct_ms", "ms");
    row("load + validate public key", "load_pk_ms", "raw_load_pk_ms", "ms");
    row("keygen (+ seeded pk save)", "keygen_ms", undefined, "ms");
    console.log(`| ciphertext / public key size | ${m["ct_bytes"]} B / ${m["pk_bytes"]} B | | |`);
    for (const [k, v] of Object.entries(m))
      figures[`${prefix}_${k}`] = Number.isInteger(v) ? v : Number(v.toPrecision(4));
  }
  figures["context_add_ms"] = Number(ctxAddMs.toFixed(1));
  figures["context_mul_ms"] = Number(ctxMulMs.toFixed(1));
  figures["heap_bytes"] = he.heapBytes() ?? 0;
  console.log(
    `\ncontext creation: ${ctxAddMs.toFixed(0)} ms (4096), ${ctxMulMs.toFixed(0)} ms (8192); WASM heap ${figures["heap_bytes"]} B`,
  );
  console.log(`BENCH he ${JSON.stringify(figures)}`);
}

await main();
