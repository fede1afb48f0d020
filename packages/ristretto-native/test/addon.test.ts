/**
 * The raw addon under hostile arguments (every JS type, wrong lengths, detached buffers, bad offsets): it
 * throws a JS TypeError / RangeError and never crashes the process; and the start-up choice with its log line,
 * the OPRF pool's workers on the native group. Skipped only without the addon outside CI (see
 * conformance.test.ts, which fails under CI when the addon is absent).
 */
import { loadSodiumGroup, nobleGroup, toHex } from "@relink/psi";
import { createOprfPool } from "@relink/psi/pool";
import { seededRng } from "@relink/psi/testing";
import { describe, expect, it } from "vitest";
import { loadAddon } from "../src/addon.ts";
import { chooseNodeGroup, loadNativeGroup } from "../src/index.ts";

const loaded = loadAddon();
const raw = "addon" in loaded ? loaded.addon : undefined;
const present = raw !== undefined || Boolean(process.env.CI);

describe.runIf(present)("raw addon: hostile arguments throw, never crash", () => {
  const r = () => raw!;
  const k = new Uint8Array(32).fill(1);
  const P = nobleGroup.mulBase(k);
  const detached = () => {
    const u = new Uint8Array(32);
    structuredClone(u.buffer, { transfer: [u.buffer] });
    return u;
  };
  const junk: [string, unknown][] = [
    ["undefined", undefined],
    ["null", null],
    ["number", 32],
    ["string", "x".repeat(32)],
    ["array", Array(32).fill(1)],
    ["object", { length: 32 }],
    ["ArrayBuffer", new ArrayBuffer(32)],
    ["DataView", new DataView(new ArrayBuffer(32))],
    ["Uint16Array", new Uint16Array(16)],
    ["Float64Array", new Float64Array(4)],
    ["short", new Uint8Array(31)],
    ["long", new Uint8Array(33)],
    ["detached", detached()],
  ];
  type Fn = (...a: unknown[]) => unknown;

  it("single operations: TypeError or RangeError with code ERR_RISTRETTO_ARG", () => {
    const calls: [string, (x: unknown) => unknown][] = [
      ["mulBase", (x) => (r().mulBase as Fn)(x)],
      ["add a", (x) => (r().add as Fn)(x, P)],
      ["add b", (x) => (r().add as Fn)(P, x)],
      ["scalarMul", (x) => (r().scalarMul as Fn)(k, x)],
      ["scalarInvert", (x) => (r().scalarInvert as Fn)(x)],
      ["scalarReduce", (x) => (r().scalarReduce as Fn)(x)],
      ["fromUniformBytes", (x) => (r().fromUniformBytes as Fn)(x)],
      ["mulMany scalar", (x) => (r().mulMany as Fn)(x, P)],
      ["msm scalars", (x) => (r().msm as Fn)(x, P)],
      ["msm points", (x) => (r().msm as Fn)(k, x)],
      ["msmAsync scalars", (x) => (r().msmAsync as Fn)(x, P)],
      ["msmAsync points", (x) => (r().msmAsync as Fn)(k, x)],
    ];
    for (const [name, f] of calls)
      for (const [kind, x] of junk) {
        let err: unknown;
        try {
          f(x);
        } catch (e) {
          err = e;
        }
        expect(err, `${name}(${kind})`).toBeInstanceOf(Error);
        expect((err as { code?: string }).code, `${name}(${kind})`).toBe("ERR_RISTRETTO_ARG");
        expect(["TypeError", "RangeError"]).toContain((err as Error).name);
      }
  });

  it("batch operations: misaligned lengths, count mismatches, bad offsets, wrong argument counts", () => {
    const bad: [string, () => unknown][] = [
      ["points not a multiple of 32", () => r().mulMany(k, new Uint8Array(65))],
      ["scalars/points count", () => r().mulEach(new Uint8Array(64), new Uint8Array(32))],
      ["mulSum count", () => r().mulSum(new Uint8Array(32), new Uint8Array(64))],
      ["offsets not Uint32Array", () => (r().hashToGroupMany as Fn)(new Uint8Array(3), [0, 3], k)],
      ["offsets past the end", () => r().hashToGroupMany(new Uint8Array(3), Uint32Array.of(0, 4), k)],
      ["offsets not from 0", () => r().hashToGroupMany(new Uint8Array(3), Uint32Array.of(1, 3), k)],
      ["offsets decreasing", () => r().hashToGroupMany(new Uint8Array(3), Uint32Array.of(0, 2, 1, 3), k)],
      ["offsets empty", () => r().hashToGroupMany(new Uint8Array(0), new Uint32Array(0), k)],
      ["empty dst", () => r().hashToGroupMany(new Uint8Array(3), Uint32Array.of(0, 3), new Uint8Array(0))],
      ["no arguments", () => (r().mulMany as Fn)()],
      ["too many arguments", () => (r().validateMany as Fn)(P, P)],
      ["async misaligned", () => r().mulManyAsync(k, new Uint8Array(31))],
      ["msm count", () => r().msm(new Uint8Array(64), new Uint8Array(32))],
      ["msmAsync count", () => r().msmAsync(new Uint8Array(32), new Uint8Array(0))],
      ["reencodeMany misaligned", () => r().reencodeMany(new Uint8Array(33))],
      ["reencodeMany not bytes", () => (r().reencodeMany as Fn)([0])],
    ];
    for (const [name, f] of bad)
      expect(f, name).toThrow(expect.objectContaining({ code: "ERR_RISTRETTO_ARG" }));
  });

  it("domain failures carry a code and the batch index", async () => {
    const pts = new Uint8Array(96);
    pts.set(P, 0);
    pts.set(P, 64); // index 1 is the identity
    expect(() => r().mulMany(k, pts)).toThrow(expect.objectContaining({ code: "POINT_IDENTITY", index: 1 }));
    await expect(r().mulManyAsync(k, pts)).rejects.toMatchObject({ code: "POINT_IDENTITY", index: 1 });
    expect(() => r().mulBase(new Uint8Array(32))).toThrow(expect.objectContaining({ code: "ZERO_SCALAR" }));
    expect(() => r().scalarMul(k, new Uint8Array(32).fill(0xff))).toThrow(
      expect.objectContaining({ code: "SCALAR_NONCANONICAL", index: 1 }),
    );
  });

  it("an empty batch is an empty result; a 10,000-element async batch matches the sync one", async () => {
    expect(r().mulMany(k, new Uint8Array(0))).toHaveLength(0);
    expect(r().hashToGroupMany(new Uint8Array(0), Uint32Array.of(0), k)).toHaveLength(0);
    // empty messages: hashed from a valid (empty) buffer, sync and async alike, and equal to noble's
    const twoEmpty = r().hashToGroupMany(new Uint8Array(0), Uint32Array.of(0, 0, 0), k);
    expect(toHex(twoEmpty)).toBe(toHex(nobleGroup.hashToGroup(new Uint8Array(0), k)).repeat(2));
    expect(toHex(await r().hashToGroupManyAsync(new Uint8Array(0), Uint32Array.of(0, 0, 0), k))).toBe(
      toHex(twoEmpty),
    );
    const rng = seededRng("ristretto-native/addon");
    const n = 10_000;
    const flat = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) flat.set(r().mulBase(nobleGroup.scalarReduce(rng(64))), i * 32);
    const s = nobleGroup.scalarReduce(rng(64));
    const sync = r().mulMany(s, flat);
    const input = flat.slice();
    const pending = r().mulManyAsync(s, input);
    input.fill(0); // the async job works on its own copy
    expect(toHex(await pending)).toBe(toHex(sync));
  });
});

describe("start-up choice", () => {
  it("prefer sodium: WASM, one log line naming why", async () => {
    const lines: string[] = [];
    const c = await chooseNodeGroup({ log: (l) => lines.push(l), prefer: "sodium" });
    expect(c.group.backend).toBe("sodium");
    expect(c.native).toBeUndefined();
    expect(c.pool.groupModule).toBeUndefined();
    expect(lines).toEqual(["ristretto255: libsodium WASM — WASM requested"]);
  });

  it.runIf(present)("default: native with its libsodium version, and the pool workers load it", async () => {
    const lines: string[] = [];
    const c = await chooseNodeGroup({ log: (l) => lines.push(l) });
    expect(c.group.backend).toBe("native");
    expect(lines).toEqual([
      expect.stringMatching(/^ristretto255: native libsodium 1\.0\.\d+ \(Node-API addon\)$/),
    ]);
    const pool = await createOprfPool({ ...c.pool, size: 2 });
    try {
      expect(pool.backend).toBe("native");
      const rate = await pool.measureMulRate(50);
      expect(rate).toHaveLength(2);
      const rng = seededRng("ristretto-native/pool");
      const k = nobleGroup.scalarReduce(rng(64));
      const inputs = Array.from({ length: 150 }, (_, i) => new TextEncoder().encode(`input ${i}`));
      const blinds = inputs.map(() => nobleGroup.scalarReduce(rng(64)));
      const got = await pool.roundTrip(k, inputs, blinds);
      const wasm = await createOprfPool({ size: 1, group: await loadSodiumGroup() });
      try {
        const want = await wasm.roundTrip(k, inputs, blinds);
        expect(got.outputs.map(toHex)).toEqual(want.outputs.map(toHex));
        expect(got.evaluated.map(toHex)).toEqual(want.evaluated.map(toHex));
      } finally {
        await wasm.close();
      }
    } finally {
      await pool.close();
    }
    expect("group" in loadNativeGroup()).toBe(true);
  });
});
