/**
 * A typed facade over node-seal 7.0.0 (Microsoft SEAL 4.1.2, BFV with batching) — ADRs 0030 and 0031.
 *
 * `await loadHe()` loads one SEAL WebAssembly instance per process (or worker) and caches it; `he.context(id)`
 * builds and caches the SEALContext of a named preset. Every SEAL object this package creates is deleted:
 * temporaries in `finally`, long-lived ones (keys, ciphertexts) by the caller through `dispose()` /
 * `Symbol.dispose`. Values are range-checked before encoding (SEAL's BatchEncoder silently reduces mod t),
 * public keys and ciphertexts are validated before use, and every SEAL exception is mapped to an
 * {@link HeError}.
 */

import type {
  BatchEncoder,
  Ciphertext,
  ComprModeType,
  Decryptor,
  Encryptor,
  Evaluator,
  MainModule,
  Plaintext,
  PublicKey,
  SEALContext,
  SecretKey,
  VectorModulus,
} from "node-seal";
import SEAL from "node-seal";
import { limbVerdict } from "./entropy.ts";
import { envelopeOverhead, type Kind, unwrap, wrap } from "./envelope.ts";
import { HeError, type HeErrorCode } from "./errors.ts";
import { isPresetId, PRESETS, type Preset, type PresetId } from "./presets.ts";
import {
  type CiphertextLayout,
  checkCoefficients,
  checkSealHeader,
  limbOf,
  parseCiphertextBytes,
} from "./seal-format.ts";

/** A plaintext slot value: a safe-integer number or a bigint. */
export type SlotValue = bigint | number;

export interface EncodeOptions {
  /**
   * `false` (default): every value in [0, t). `true`: every value in [−(t−1)/2, (t−1)/2], negative values
   * encoded as t + v. Values outside the range are refused, never reduced.
   */
  readonly signed?: boolean;
}

export interface DecryptOptions {
  /** Decode slots to [0, t) (default) or centred to [−(t−1)/2, (t−1)/2]. */
  readonly signed?: boolean;
  /** Return only the first `length` slots (default: all). */
  readonly length?: number;
  /** Refuse a ciphertext whose noise budget is exhausted (default true; costs about one more decryption). */
  readonly checkNoise?: boolean;
}

const RAW = Symbol("he.raw");
/** Index of a u64's low 32-bit word in a Uint32Array view of it. */
const LOW_WORD = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 0 : 1;

type Deletable = { delete(): void };

abstract class Handle<T extends Record<string, Deletable>> {
  readonly preset: PresetId;
  #parts: T | undefined;
  constructor(preset: PresetId, parts: T) {
    this.preset = preset;
    this.#parts = parts;
  }
  get disposed(): boolean {
    return this.#parts === undefined;
  }
  /** @internal */
  [RAW](): T {
    if (this.#parts === undefined)
      throw new HeError("disposed", `${this.constructor.name} used after dispose()`);
    return this.#parts;
  }
  /** Frees the SEAL objects in the WASM heap. Idempotent. */
  dispose(): void {
    const parts = this.#parts;
    this.#parts = undefined;
    if (parts) for (const p of Object.values(parts)) p.delete();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A validated public key of one preset, with its encryptor. */
export class HePublicKey extends Handle<{ key: PublicKey; encryptor: Encryptor }> {
  /** @internal SEAL bytes as saved (seeded form, compression none). */
  readonly #sealBytes: Uint8Array;
  /**
   * The validation probe of a loaded key (ADR 0035): a fresh encryption of zero under this key whose bytes
   * were only inspected here, never disclosed. The next encryption (or encryption of zero) under the key
   * is built from it — SEAL's BFV encrypt is exactly encrypt-zero then add-plain — so validating a key
   * costs no encryption of its own. Used once.
   */
  #spareZero: Ciphertext | undefined;
  constructor(
    preset: PresetId,
    key: PublicKey,
    encryptor: Encryptor,
    sealBytes: Uint8Array,
    spareZero?: Ciphertext,
  ) {
    super(preset, { key, encryptor });
    this.#sealBytes = sealBytes;
    this.#spareZero = spareZero;
  }
  /** @internal The unused probe encryption of zero, once (undefined afterwards or for a generated key). */
  takeSpareZero(): Ciphertext | undefined {
    this[RAW]();
    const spare = this.#spareZero;
    this.#spareZero = undefined;
    return spare;
  }
  override dispose(): void {
    this.#spareZero?.delete();
    this.#spareZero = undefined;
    super.dispose();
  }
  /** @internal */
  sealBytes(): Uint8Array {
    this[RAW]();
    return this.#sealBytes;
  }
}

/** A secret key of one preset, with its decryptor. Never leaves the querier's device. */
export class HeSecretKey extends Handle<{ key: SecretKey; decryptor: Decryptor }> {}

/** A BFV ciphertext of one preset. */
export class HeCiphertext extends Handle<{ ct: Ciphertext }> {}

export interface HeKeyPair extends Disposable {
  readonly publicKey: HePublicKey;
  readonly secretKey: HeSecretKey;
  dispose(): void;
}

interface Runtime {
  readonly ctx: SEALContext;
  readonly encoder: BatchEncoder;
  readonly evaluator: Evaluator;
  readonly t: bigint;
  /** Primes of the ciphertext (first data) level. */
  readonly dataPrimes: readonly bigint[];
  /** Primes of the key level (data primes + the special prime). */
  readonly keyPrimes: readonly bigint[];
  readonly firstParmsId: Uint8Array;
  readonly keyParmsId: Uint8Array;
  readonly ciphertextLength: number;
  readonly publicKeySeededLength: number;
  readonly publicKeyFullLength: number;
  readonly secretKeyLength: number;
}

/** `WebAssembly.Exception` (not in TypeScript's lib yet): what SEAL's C++ exceptions arrive as. */
const WasmException = (WebAssembly as unknown as { Exception?: abstract new (...args: never[]) => object })
  .Exception;

function isWasmException(e: unknown): e is object {
  return WasmException !== undefined && e instanceof WasmException;
}

function sealMessage(e: unknown): string {
  if (isWasmException(e)) {
    const m = (e as unknown as { message?: unknown }).message;
    return Array.isArray(m) ? m.join(": ") : String(m ?? "WebAssembly.Exception");
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * One node-seal instance. Obtain it with {@link loadHe}; contexts are built per preset on first use and cached.
 */
export class He {
  readonly #seal: MainModule;
  readonly #memory: WebAssembly.Memory | undefined;
  readonly #contexts = new Map<PresetId, HeContext>();

  /** @internal use {@link loadHe} */
  constructor(seal: MainModule, memory: WebAssembly.Memory | undefined) {
    this.#seal = seal;
    this.#memory = memory;
  }

  /** The cached context of a preset (built on first call: 60–300 ms). */
  context(id: PresetId): HeContext {
    if (!isPresetId(id)) throw new HeError("unknown-preset", `unknown HE preset ${JSON.stringify(id)}`);
    let c = this.#contexts.get(id);
    if (!c) {
      c = new HeContext(this.#seal, PRESETS[id]);
      this.#contexts.set(id, c);
    }
    return c;
  }

  /**
   * The preset id named in a serialized object's envelope, unverified (for routing to the right context).
   * Throws `malformed` if the envelope is not well formed, `unknown-preset` if the id is unknown.
   */
  presetOf(unverifiedBytes: Uint8Array): PresetId {
    const { presetId } = unwrap(unverifiedBytes);
    if (!isPresetId(presetId))
      throw new HeError("unknown-preset", `unknown HE preset ${JSON.stringify(presetId)}`);
    return presetId;
  }

  /** Current size of the WASM linear memory in bytes (it never shrinks), or undefined if not observable. */
  heapBytes(): number | undefined {
    return this.#memory?.buffer.byteLength;
  }
}

let instance: Promise<He> | undefined;

/**
 * Loads node-seal once per process (or worker) and returns the shared {@link He}. Concurrent calls share
 * one load (the options of the first call apply). Requires Node ≥ 22.22 or a browser with WebAssembly
 * exception references (exnref: Chromium ≥ 137), as node-seal 7's WASM uses them.
 */
export function loadHe(options: LoadHeOptions = {}): Promise<He> {
  instance ??= instantiate(options).catch((e: unknown) => {
    instance = undefined;
    throw e instanceof HeError
      ? e
      : new HeError("init-failed", `node-seal failed to load: ${sealMessage(e)}`);
  });
  return instance;
}

/**
 * Instantiates node-seal while observing `WebAssembly.instantiate*` to find the instance's exported
 * linear memory (node-seal 7 exports no HEAP views); the originals are restored before returning. The
 * memory is used only by {@link He.heapBytes}.
 */
export interface LoadHeOptions {
  /**
   * Where the `.wasm` file is. Default: next to node-seal's module file (Node). `null`: the bundler's URL
   * for it — node-seal's glue has the `new URL("seal_throws.wasm", import.meta.url)` pattern that webpack
   * and Vite rewrite to the emitted asset, which its default `locateFile` (a URL computed at run time from
   * `import.meta.url`, a `file:` URL once bundled) bypasses. Browsers and Web Workers pass `null`.
   */
  locateFile?: ((file: string) => string) | null;
}

async function instantiate(options: LoadHeOptions): Promise<He> {
  const wa = WebAssembly as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const originals = { instantiate: wa.instantiate, instantiateStreaming: wa.instantiateStreaming };
  let memory: WebAssembly.Memory | undefined;
  const grab = (result: unknown): unknown => {
    const r = result as { instance?: WebAssembly.Instance } | WebAssembly.Instance;
    const inst = "instance" in r && r.instance ? r.instance : (r as WebAssembly.Instance);
    for (const v of Object.values(inst?.exports ?? {})) {
      if (memory === undefined && v instanceof WebAssembly.Memory) memory = v;
    }
    return result;
  };
  for (const name of ["instantiate", "instantiateStreaming"] as const) {
    const orig = originals[name];
    if (orig) wa[name] = (...args: unknown[]) => orig.apply(WebAssembly, args).then(grab);
  }
  let seal: MainModule;
  try {
    seal = await SEAL(
      options.locateFile === undefined
        ? {}
        : { locateFile: options.locateFile === null ? undefined : options.locateFile },
    );
  } finally {
    for (const name of ["instantiate", "instantiateStreaming"] as const) {
      if (originals[name]) wa[name] = originals[name];
    }
  }
  return new He(seal, memory);
}

/** All operations for one preset. Obtain with `he.context(id)`. */
export class HeContext {
  readonly id: PresetId;
  readonly preset: Preset;
  /** Number of batching slots (= N). */
  readonly slotCount: number;
  /** The plain modulus t: unsigned values lie in [0, t). */
  readonly plainModulus: bigint;
  /** Signed values lie in [−signedMax, signedMax], signedMax = (t − 1) / 2. */
  readonly signedMax: bigint;
  /** The coefficient-modulus primes; the last is SEAL's special (key-switching) prime, not in ciphertexts. */
  readonly coeffModulus: readonly bigint[];
  /** Exact serialized sizes (envelope included) of a public key and a ciphertext of this preset. */
  readonly serializedBytes: { readonly publicKey: number; readonly ciphertext: number };
  readonly #seal: MainModule;
  readonly #rt: Runtime;

  /** @internal use `he.context(id)` */
  constructor(seal: MainModule, preset: Preset) {
    this.#seal = seal;
    this.id = preset.id;
    this.preset = preset;
    this.#rt = this.#guard("init-failed", "building the SEAL context", () => buildRuntime(seal, preset));
    this.slotCount = preset.polyModulusDegree;
    this.plainModulus = this.#rt.t;
    this.signedMax = (this.#rt.t - 1n) / 2n;
    this.coeffModulus = this.#rt.keyPrimes;
    const overhead = envelopeOverhead(this.id);
    this.serializedBytes = {
      publicKey: overhead + this.#rt.publicKeySeededLength,
      ciphertext: overhead + this.#rt.ciphertextLength,
    };
  }

  // ---------------------------------------------------------------- keys

  /** A fresh key pair for one query. Dispose both keys (or the pair) when done. */
  keygen(): HeKeyPair {
    const seal = this.#seal;
    const kg = this.#guard("seal-error", "key generation", () => new seal.KeyGenerator(this.#rt.ctx));
    let sk: SecretKey | undefined;
    let pk: PublicKey | undefined;
    try {
      const seeded = kg.createPublicKeySerializable();
      let bytes: Uint8Array;
      try {
        bytes = Uint8Array.from(seeded.saveToArray(this.#none()) as Uint8Array);
      } finally {
        seeded.delete();
      }
      pk = new seal.PublicKey();
      pk.loadFromArray(this.#rt.ctx, bytes);
      sk = kg.secretKey();
      const publicKey = this.#publicKeyFrom(pk, bytes);
      pk = undefined;
      const secretKey = this.#secretKeyFrom(sk);
      sk = undefined;
      return {
        publicKey,
        secretKey,
        dispose() {
          publicKey.dispose();
          secretKey.dispose();
        },
        [Symbol.dispose]() {
          this.dispose();
        },
      };
    } catch (e) {
      pk?.delete();
      sk?.delete();
      throw this.#map(e, "seal-error", "key generation");
    } finally {
      kg.delete();
    }
  }

  // ---------------------------------------------------------------- encode / encrypt / decrypt

  /** Encrypts up to `slotCount` values (the rest of the slots are zero) under a public key. */
  encrypt(publicKey: HePublicKey, values: ArrayLike<SlotValue>, options: EncodeOptions = {}): HeCiphertext {
    const { encryptor } = this.#own(publicKey)[RAW]();
    const slots = this.#toSlots(values, options.signed ?? false);
    const spare = publicKey.takeSpareZero();
    if (spare) {
      // The key's unused validation probe plus the plaintext: SEAL's own BFV encrypt (encrypt-zero, then
      // the scaled plaintext added into c0 — Evaluator.addPlain runs the same routine), one encryption less.
      return this.#withPlain(slots, (pt) =>
        this.#guardOwned(spare, "encrypt", () => this.#rt.evaluator.addPlainInplace(spare, pt)),
      );
    }
    return this.#withPlain(slots, (pt) => {
      const ct = new this.#seal.Ciphertext();
      return this.#guardOwned(ct, "encrypt", () => encryptor.encrypt(pt, ct));
    });
  }

  /** A fresh encryption of the all-zero vector. */
  encryptZero(publicKey: HePublicKey): HeCiphertext {
    const { encryptor } = this.#own(publicKey)[RAW]();
    const spare = publicKey.takeSpareZero();
    if (spare) return new HeCiphertext(this.id, { ct: spare });
    const ct = new this.#seal.Ciphertext();
    return this.#guardOwned(ct, "encryptZero", () => encryptor.encryptZero(ct));
  }

  /** Decrypts and decodes; refuses (`noise-exhausted`) a ciphertext whose noise budget is 0 unless told not to. */
  decrypt(secretKey: HeSecretKey, ciphertext: HeCiphertext, options: DecryptOptions = {}): bigint[] {
    const { decryptor } = this.#own(secretKey)[RAW]();
    const { ct } = this.#own(ciphertext)[RAW]();
    const length = options.length ?? this.slotCount;
    if (!Number.isSafeInteger(length) || length < 0 || length > this.slotCount) {
      throw new HeError("invalid-input", `length must be in [0, ${this.slotCount}]`);
    }
    if (options.checkNoise ?? true) {
      const budget = this.#guard("seal-error", "noise budget", () => decryptor.invariantNoiseBudget(ct));
      if (budget <= 0)
        throw new HeError("noise-exhausted", "ciphertext noise budget exhausted: cannot decrypt");
    }
    const pt = new this.#seal.Plaintext();
    try {
      const decoded = this.#guard("seal-error", "decrypt", () => {
        decryptor.decrypt(ct, pt);
        return this.#rt.encoder.decodeBigUint64(pt) as BigUint64Array;
      });
      const out = new Array<bigint>(length);
      const { t } = this.#rt;
      const half = this.signedMax;
      for (let i = 0; i < length; i++) {
        const v = decoded[i] as bigint;
        out[i] = options.signed && v > half ? v - t : v;
      }
      return out;
    } finally {
      pt.delete();
    }
  }

  /**
   * Decrypts into `out` at `offset` as numbers in [0, t) (unsigned): the slots' low 32-bit words, read
   * without a bigint per slot (every preset's plain modulus is below 2^32). For callers decoding many
   * ciphertexts (the exposure querier: 220 per portfolio answer); `decrypt` is the general form.
   */
  decryptInto(
    secretKey: HeSecretKey,
    ciphertext: HeCiphertext,
    out: Float64Array,
    offset = 0,
    options: Pick<DecryptOptions, "checkNoise"> = {},
  ): void {
    const { decryptor } = this.#own(secretKey)[RAW]();
    const { ct } = this.#own(ciphertext)[RAW]();
    const n = this.slotCount;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + n > out.length) {
      throw new HeError("invalid-input", `out needs ${n} slots from offset ${offset}`);
    }
    if (this.#rt.t >= 2n ** 32n) throw new HeError("invalid-input", "plain modulus above 2^32: use decrypt");
    if (options.checkNoise ?? true) {
      const budget = this.#guard("seal-error", "noise budget", () => decryptor.invariantNoiseBudget(ct));
      if (budget <= 0)
        throw new HeError("noise-exhausted", "ciphertext noise budget exhausted: cannot decrypt");
    }
    const pt = new this.#seal.Plaintext();
    try {
      const decoded = this.#guard("seal-error", "decrypt", () => {
        decryptor.decrypt(ct, pt);
        return this.#rt.encoder.decodeBigUint64(pt) as BigUint64Array;
      });
      const words = new Uint32Array(decoded.buffer, decoded.byteOffset, 2 * n);
      for (let i = 0; i < n; i++) out[offset + i] = words[LOW_WORD + 2 * i]!;
    } finally {
      pt.delete();
    }
  }

  /** The invariant noise budget in bits (0 = decryption fails). Needs the secret key. */
  noiseBudget(secretKey: HeSecretKey, ciphertext: HeCiphertext): number {
    const { decryptor } = this.#own(secretKey)[RAW]();
    const { ct } = this.#own(ciphertext)[RAW]();
    return this.#guard("seal-error", "noise budget", () => decryptor.invariantNoiseBudget(ct));
  }

  // ---------------------------------------------------------------- homomorphic operations

  /** a + b as a new ciphertext. */
  add(a: HeCiphertext, b: HeCiphertext): HeCiphertext {
    const x = this.#own(a)[RAW]().ct;
    const y = this.#own(b)[RAW]().ct;
    const out = new this.#seal.Ciphertext();
    return this.#guardOwned(out, "add", () => this.#rt.evaluator.add(x, y, out));
  }

  /** accumulator += b (no allocation). */
  addInPlace(accumulator: HeCiphertext, b: HeCiphertext): void {
    const x = this.#own(accumulator)[RAW]().ct;
    const y = this.#own(b)[RAW]().ct;
    this.#guard("seal-error", "addInPlace", () => this.#rt.evaluator.addInplace(x, y));
  }

  /** The sum of one or more ciphertexts, as a new ciphertext (inputs untouched). */
  sum(ciphertexts: readonly HeCiphertext[]): HeCiphertext {
    const [first, ...rest] = ciphertexts;
    if (first === undefined) throw new HeError("invalid-input", "sum of no ciphertexts");
    const out = this.#copy(first);
    try {
      for (const c of rest) this.addInPlace(out, c);
      return out;
    } catch (e) {
      out.dispose();
      throw e;
    }
  }

  /** ciphertext + plaintext vector, as a new ciphertext. */
  addPlain(
    ciphertext: HeCiphertext,
    values: ArrayLike<SlotValue>,
    options: EncodeOptions = {},
  ): HeCiphertext {
    const x = this.#own(ciphertext)[RAW]().ct;
    const slots = this.#toSlots(values, options.signed ?? false);
    return this.#withPlain(slots, (pt) => {
      const out = new this.#seal.Ciphertext();
      return this.#guardOwned(out, "addPlain", () => this.#rt.evaluator.addPlain(x, pt, out));
    });
  }

  /**
   * ciphertext × plaintext vector (slot-wise), as a new ciphertext. An all-zero vector yields a fresh
   * encryption of zero under `publicKey` (SEAL would produce a transparent ciphertext). On a preset whose
   * `plainMultiply.kind` is "scalar", only one value repeated in every slot, 0 ≤ value ≤ maxScalar, is
   * accepted (`unsupported` otherwise): a general vector would exhaust the noise budget (ADR 0030).
   * The result is not re-randomised: call {@link rerandomize} before it leaves the evaluator.
   */
  multiplyPlain(
    ciphertext: HeCiphertext,
    values: ArrayLike<SlotValue>,
    publicKey: HePublicKey,
    options: EncodeOptions = {},
  ): HeCiphertext {
    const x = this.#own(ciphertext)[RAW]().ct;
    this.#own(publicKey)[RAW]();
    const slots = this.#toSlots(values, options.signed ?? false);
    const first = slots[0] as bigint;
    const uniform = slots.every((v) => v === first);
    if (uniform && first === 0n) return this.encryptZero(publicKey);
    const rule = this.preset.plainMultiply;
    if (rule.kind === "scalar" && !(uniform && first <= rule.maxScalar)) {
      throw new HeError(
        "unsupported",
        `${this.id} multiplies only by one value 0..${rule.maxScalar} in every slot (noise budget); use a "vector" preset`,
      );
    }
    return this.#withPlain(slots, (pt) => {
      const out = new this.#seal.Ciphertext();
      return this.#guardOwned(out, "multiplyPlain", () => this.#rt.evaluator.multiplyPlain(x, pt, out));
    });
  }

  /**
   * ciphertext + a fresh encryption of zero under `publicKey`, as a new ciphertext: the result is a fresh-
   * looking encryption of the same plaintext, so its bytes no longer reveal how it was computed (SEAL has
   * no circuit privacy). Statistical hiding only: the noise term is not flooded (ADR 0030).
   */
  rerandomize(ciphertext: HeCiphertext, publicKey: HePublicKey): HeCiphertext {
    const x = this.#own(ciphertext)[RAW]().ct;
    const zero = this.encryptZero(publicKey);
    try {
      const out = new this.#seal.Ciphertext();
      return this.#guardOwned(out, "rerandomize", () => this.#rt.evaluator.add(x, zero[RAW]().ct, out));
    } finally {
      zero.dispose();
    }
  }

  // ---------------------------------------------------------------- serialization

  /** Envelope(public key, preset) around SEAL's seeded public-key bytes. */
  savePublicKey(publicKey: HePublicKey): Uint8Array {
    return wrap("publicKey", this.id, this.#own(publicKey).sealBytes());
  }

  /** Envelope(ciphertext, preset) around SEAL's uncompressed ciphertext bytes. */
  saveCiphertext(ciphertext: HeCiphertext): Uint8Array {
    const { ct } = this.#own(ciphertext)[RAW]();
    return wrap(
      "ciphertext",
      this.id,
      this.#guard("seal-error", "save ciphertext", () => ct.saveToArray(this.#none()) as Uint8Array),
    );
  }

  /** Envelope(secret key, preset). Local storage only: a secret key never goes on the wire. */
  saveSecretKey(secretKey: HeSecretKey): Uint8Array {
    const { key } = this.#own(secretKey)[RAW]();
    return wrap(
      "secretKey",
      this.id,
      this.#guard("seal-error", "save secret key", () => key.saveToArray(this.#none()) as Uint8Array),
    );
  }

  /**
   * Parses and validates a public key: size cap, envelope (kind, preset), SEAL header, parameters
   * (parms_id, degree, modulus count, size 2), SEAL's own validity check, then the entropy criterion on
   * the key's polynomials and on a probe encryption of zero under it (ADR 0030). Refusals are HeErrors:
   * oversize, malformed, wrong-kind, preset-mismatch, wrong-parameters, zero-key, low-entropy-key.
   */
  loadPublicKey(unverifiedBytes: Uint8Array): HePublicKey {
    const payload = this.#open(unverifiedBytes, "publicKey", this.#rt.publicKeyFullLength);
    const rt = this.#rt;
    if (payload.length !== rt.publicKeySeededLength && payload.length !== rt.publicKeyFullLength) {
      throw new HeError("wrong-parameters", `public key of ${payload.length} bytes is not a ${this.id} key`);
    }
    const layout = parseCiphertextBytes(payload, true);
    this.#checkLayout(layout, "key");
    checkCoefficients(layout, rt.keyPrimes);
    // NTT-domain checks on the stored polynomials (b always; a too unless SEAL expands it from a seed).
    for (let poly = 0; poly < (layout.seeded ? 1 : 2); poly++) {
      const verdicts = rt.keyPrimes.map((q, limb) => limbVerdict(limbOf(layout, poly, limb), q));
      if (verdicts.some((v) => v === "zero")) {
        throw new HeError("zero-key", `public key polynomial ${poly} has an all-zero RNS component`);
      }
      const bad = verdicts.find((v) => v !== "ok");
      if (bad)
        throw new HeError(
          "low-entropy-key",
          `public key polynomial ${poly} fails the entropy check (${bad})`,
        );
    }
    const pk = new this.#seal.PublicKey();
    let encryptor: Encryptor | undefined;
    try {
      this.#guard("malformed", "public key refused by SEAL", () => pk.loadFromArray(rt.ctx, payload));
      encryptor = this.#guard("seal-error", "encryptor", () => new this.#seal.Encryptor(rt.ctx, pk));
      // Coefficient-domain check: a probe encryption of zero under the key must look uniform. The probe is
      // kept for the key's first encryption (HePublicKey.takeSpareZero).
      const spare = this.#probe(encryptor);
      return new HePublicKey(this.id, pk, encryptor, Uint8Array.from(payload), spare);
    } catch (e) {
      encryptor?.delete();
      pk.delete();
      throw this.#map(e, "seal-error", "load public key");
    }
  }

  /**
   * Parses and validates a ciphertext: size cap (exact size of a valid ciphertext), envelope, SEAL header,
   * parameters (parms_id of this preset's data level, degree, modulus count, size 2, not NTT), SEAL's
   * validity check, not transparent and c1 passing the entropy criterion. Refusals are HeErrors: oversize,
   * malformed, wrong-kind, preset-mismatch, wrong-parameters, transparent-ciphertext.
   */
  loadCiphertext(unverifiedBytes: Uint8Array): HeCiphertext {
    const rt = this.#rt;
    const payload = this.#open(unverifiedBytes, "ciphertext", rt.ciphertextLength);
    const layout = parseCiphertextBytes(payload, false, true);
    this.#checkLayout(layout, "ciphertext");
    checkCoefficients(layout, rt.dataPrimes);
    const ct = new this.#seal.Ciphertext();
    try {
      this.#guard("malformed", "ciphertext refused by SEAL", () => ct.loadFromArray(rt.ctx, payload));
      if (ct.isTransparent()) throw new HeError("transparent-ciphertext", "transparent ciphertext");
      rt.dataPrimes.forEach((q, limb) => {
        const v = limbVerdict(limbOf(layout, 1, limb), q);
        if (v !== "ok")
          throw new HeError("transparent-ciphertext", `ciphertext c1 carries no randomness (${v})`);
      });
      return new HeCiphertext(this.id, { ct });
    } catch (e) {
      ct.delete();
      throw this.#map(e, "seal-error", "load ciphertext");
    }
  }

  /** Loads a secret key saved by {@link saveSecretKey} (local storage only). */
  loadSecretKey(unverifiedBytes: Uint8Array): HeSecretKey {
    const payload = this.#open(unverifiedBytes, "secretKey", this.#rt.secretKeyLength);
    if (payload.length !== this.#rt.secretKeyLength)
      throw new HeError("wrong-parameters", "secret key of wrong size");
    checkSealHeader(payload);
    const sk = new this.#seal.SecretKey();
    try {
      this.#guard("malformed", "secret key refused by SEAL", () => sk.loadFromArray(this.#rt.ctx, payload));
      return this.#secretKeyFrom(sk);
    } catch (e) {
      sk.delete();
      throw this.#map(e, "seal-error", "load secret key");
    }
  }

  // ---------------------------------------------------------------- internals

  #none(): ComprModeType {
    return this.#seal.ComprModeType.none;
  }

  #own<T extends Handle<Record<string, Deletable>>>(h: T): T {
    if (!(h instanceof Handle))
      throw new HeError("invalid-input", "not an HE key or ciphertext of this package");
    if (h.preset !== this.id) {
      throw new HeError("preset-mismatch", `object of preset ${h.preset} used with ${this.id}`);
    }
    return h;
  }

  #copy(c: HeCiphertext): HeCiphertext {
    const src = this.#own(c)[RAW]().ct;
    return new HeCiphertext(this.id, { ct: this.#guard("seal-error", "copy", () => src.copy()) });
  }

  #publicKeyFrom(pk: PublicKey, sealBytes: Uint8Array): HePublicKey {
    let encryptor: Encryptor;
    try {
      encryptor = new this.#seal.Encryptor(this.#rt.ctx, pk);
    } catch (e) {
      pk.delete();
      throw e;
    }
    return new HePublicKey(this.id, pk, encryptor, sealBytes);
  }

  #secretKeyFrom(sk: SecretKey): HeSecretKey {
    let decryptor: Decryptor;
    try {
      decryptor = new this.#seal.Decryptor(this.#rt.ctx, sk);
    } catch (e) {
      sk.delete();
      throw e;
    }
    return new HeSecretKey(this.id, { key: sk, decryptor });
  }

  /** Cap, unwrap and check kind and preset; returns the SEAL payload (with its header checked). */
  #open(unverified: Uint8Array, kind: Kind, maxPayload: number): Uint8Array {
    if (!(unverified instanceof Uint8Array)) throw new HeError("malformed", "expected a Uint8Array");
    const cap = envelopeOverhead(this.id) + maxPayload;
    if (unverified.length > cap) {
      throw new HeError(
        "oversize",
        `${unverified.length} bytes exceed the ${cap}-byte cap for a ${this.id} ${kind}`,
      );
    }
    const env = unwrap(unverified);
    if (env.kind !== kind) throw new HeError("wrong-kind", `expected a ${kind}, got a ${env.kind}`);
    if (env.presetId !== this.id) {
      throw new HeError(
        "preset-mismatch",
        `${kind} of preset ${JSON.stringify(env.presetId)}, expected ${this.id}`,
      );
    }
    checkSealHeader(env.payload);
    return env.payload;
  }

  #checkLayout(l: CiphertextLayout, what: "key" | "ciphertext"): void {
    const rt = this.#rt;
    const key = what === "key";
    const parmsId = key ? rt.keyParmsId : rt.firstParmsId;
    const limbs = key ? rt.keyPrimes.length : rt.dataPrimes.length;
    if (l.size !== 2) throw new HeError("wrong-parameters", `${what} has ${l.size} polynomials, expected 2`);
    if (l.polyModulusDegree !== this.slotCount || l.coeffModulusSize !== limbs) {
      throw new HeError(
        "wrong-parameters",
        `${what} has N=${l.polyModulusDegree}, ${l.coeffModulusSize} primes`,
      );
    }
    if (!l.parmsId.every((b, i) => b === parmsId[i])) {
      throw new HeError("wrong-parameters", `${what} parms_id is not ${this.id}'s`);
    }
    if (l.isNttForm !== key) throw new HeError("wrong-parameters", `${what} in the wrong (NTT) form`);
    if (l.scale !== 1 || l.correctionFactor !== 1n) {
      throw new HeError("wrong-parameters", `${what} has a non-BFV scale or correction factor`);
    }
  }

  /** Encrypts zero under a candidate key and checks both output polynomials are uniform-looking. */
  /** The probe encryption of zero, checked; returned unused (the caller owns it) or deleted with the refusal. */
  #probe(encryptor: Encryptor): Ciphertext {
    const ct = new this.#seal.Ciphertext();
    try {
      this.#guard("seal-error", "probe encryption", () => encryptor.encryptZero(ct));
      const l = parseCiphertextBytes(ct.saveToArray(this.#none()) as Uint8Array);
      for (let poly = 0; poly < 2; poly++) {
        this.#rt.dataPrimes.forEach((q, limb) => {
          const v = limbVerdict(limbOf(l, poly, limb), q);
          if (v !== "ok") {
            throw new HeError(
              "low-entropy-key",
              `encryptions under this key are not uniform (c${poly}: ${v})`,
            );
          }
        });
      }
      return ct;
    } catch (e) {
      ct.delete();
      throw e;
    }
  }

  #toSlots(values: ArrayLike<SlotValue>, signed: boolean): BigUint64Array {
    if (values === null || typeof values !== "object" || typeof values.length !== "number") {
      throw new HeError("invalid-input", "values must be an array of bigint or safe-integer numbers");
    }
    if (values.length > this.slotCount) {
      throw new HeError("invalid-input", `${values.length} values exceed the ${this.slotCount} slots`);
    }
    const { t } = this.#rt;
    const half = this.signedMax;
    const out = new BigUint64Array(this.slotCount);
    // Numbers go straight into the low 32-bit word of their slot (t < 2^31; the high word stays 0): no
    // bigint per slot. Same checks and results as the bigint path below.
    const low = LITTLE_ENDIAN && t < 1n << 32n ? new Uint32Array(out.buffer) : undefined;
    const tNum = Number(t);
    const halfNum = Number(half);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (low && typeof v === "number" && Number.isSafeInteger(v)) {
        if (signed ? v < -halfNum || v > halfNum : v < 0 || v >= tNum) {
          const range = signed ? `[-${half}, ${half}]` : `[0, ${t})`;
          throw new HeError("out-of-range", `slot ${i}: ${v} outside ${range}`);
        }
        low[2 * i] = v < 0 ? v + tNum : v;
        continue;
      }
      let b: bigint;
      if (typeof v === "bigint") b = v;
      else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
      else throw new HeError("invalid-input", `slot ${i}: not a bigint or safe integer`);
      if (signed) {
        if (b < -half || b > half)
          throw new HeError("out-of-range", `slot ${i}: ${b} outside [-${half}, ${half}]`);
        out[i] = b < 0n ? b + t : b;
      } else {
        if (b < 0n || b >= t) throw new HeError("out-of-range", `slot ${i}: ${b} outside [0, ${t})`);
        out[i] = b;
      }
    }
    return out;
  }

  #withPlain<T>(slots: BigUint64Array, f: (pt: Plaintext) => T): T {
    const pt = new this.#seal.Plaintext();
    try {
      this.#guard("seal-error", "encode", () => this.#rt.encoder.encode(slots, pt));
      return f(pt);
    } finally {
      pt.delete();
    }
  }

  /** Runs `f` that fills `ct`; returns it wrapped, or deletes it and throws a mapped error. */
  #guardOwned(ct: Ciphertext, what: string, f: () => void): HeCiphertext {
    try {
      f();
      return new HeCiphertext(this.id, { ct });
    } catch (e) {
      ct.delete();
      throw this.#map(e, "seal-error", what);
    }
  }

  #guard<T>(code: HeErrorCode, what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw this.#map(e, code, what);
    }
  }

  /**
   * Maps any exception to an HeError. A C++ exception that reached JS keeps its ~100-byte object in the
   * WASM heap: node-seal 7's `decrementExceptionRefcount` corrupted the heap when we tried it, so input is
   * validated in JS first and SEAL exceptions stay exceptional (ADR 0031).
   */
  #map(e: unknown, code: HeErrorCode, what: string): HeError {
    if (e instanceof HeError) return e;
    return new HeError(code, `${what}: ${sealMessage(e)}`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function primesOf(seal: MainModule, v: VectorModulus): bigint[] {
  return (seal.jsArrayFromVecModulus(v) as unknown[]).map((x) => BigInt(x as bigint));
}

function buildRuntime(seal: MainModule, preset: Preset): Runtime {
  const N = preset.polyModulusDegree;
  const none = seal.ComprModeType.none;
  const parms = new seal.EncryptionParameters(seal.SchemeType.bfv);
  const coeff = seal.CoeffModulus.Create(N, Int32Array.from(preset.coeffModulusBits));
  const plain = seal.PlainModulus.Batching(N, preset.plainModulusBits);
  let ctx: SEALContext;
  let keyPrimes: bigint[];
  let t: bigint;
  try {
    parms.setPolyModulusDegree(N);
    parms.setCoeffModulus(coeff);
    parms.setPlainModulus(plain);
    keyPrimes = primesOf(seal, coeff);
    t = plain.value();
    ctx = new seal.SEALContext(parms, true, seal.SecLevelType.tc128);
  } finally {
    parms.delete();
    coeff.delete();
    plain.delete();
  }
  const first = ctx.firstContextData();
  const q = first.qualifiers();
  try {
    if (!ctx.parametersSet() || !q.usingBatching || q.securityLevel !== seal.SecLevelType.tc128) {
      ctx.delete();
      throw new HeError(
        "init-failed",
        `${preset.id}: SEAL refused the parameters or they lack 128-bit security`,
      );
    }
  } finally {
    q.delete();
    first.delete();
  }
  const encoder = new seal.BatchEncoder(ctx);
  const evaluator = new seal.Evaluator(ctx);
  // Reference serializations: exact sizes and the parms_id of the key and data levels.
  const kg = new seal.KeyGenerator(ctx);
  const seeded = kg.createPublicKeySerializable();
  const pk = new seal.PublicKey();
  const sk = kg.secretKey();
  const ct = new seal.Ciphertext();
  let enc: Encryptor | undefined;
  try {
    const seededBytes = seeded.saveToArray(none) as Uint8Array;
    pk.loadFromArray(ctx, seededBytes);
    const fullBytes = pk.saveToArray(none) as Uint8Array;
    enc = new seal.Encryptor(ctx, pk);
    enc.encryptZero(ct);
    const ctBytes = ct.saveToArray(none) as Uint8Array;
    return {
      ctx,
      encoder,
      evaluator,
      t,
      keyPrimes,
      dataPrimes: keyPrimes.slice(0, -1),
      keyParmsId: fullBytes.slice(16, 48),
      firstParmsId: ctBytes.slice(16, 48),
      ciphertextLength: ctBytes.length,
      publicKeySeededLength: seededBytes.length,
      publicKeyFullLength: fullBytes.length,
      secretKeyLength: (sk.saveToArray(none) as Uint8Array).length,
    };
  } finally {
    enc?.delete();
    ct.delete();
    sk.delete();
    pk.delete();
    seeded.delete();
    kg.delete();
  }
}
