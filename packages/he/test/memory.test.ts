/**
 * Explicit memory ownership: 1,000 query-shaped cycles — a lender encrypts, the hub validates, sums and
 * re-randomises, the querier validates and decrypts, plus a refused (unreduced) ciphertext every cycle and a
 * fresh key pair every 100 — leave the WASM heap as big as after warm-up (≤ 1 MiB growth allowed).
 * Leaking one ciphertext or plaintext per cycle (≥ 32 KiB) would grow it by ≥ 32 MiB.
 */
import { describe, expect, it } from "vitest";
import { HeError, loadHe } from "../src/index.ts";
import { dataOf, payloadOf, rewrap, withData } from "./helpers.ts";

describe("WASM heap", () => {
  it("stays flat over 1,000 query-shaped cycles", async () => {
    const he = await loadHe();
    const c = he.context("bfv-4096-add-v1");
    const values = Array.from({ length: c.slotCount }, (_, i) => BigInt(i % 1000));
    let refused = 0;
    let badCt: Uint8Array | undefined;
    const cycle = (round: number, keys: { pk: Uint8Array; decrypt: (b: Uint8Array) => bigint[] }) => {
      // lender: validate the querier's key, encrypt, serialize
      using pk = c.loadPublicKey(keys.pk);
      using x = c.encrypt(pk, values);
      using y = c.encrypt(pk, values);
      const bx = c.saveCiphertext(x);
      const by = c.saveCiphertext(y);
      // hub: validate, sum, re-randomise, serialize
      using hx = c.loadCiphertext(bx);
      using hy = c.loadCiphertext(by);
      using s = c.add(hx, hy);
      using r = c.rerandomize(s, pk);
      const out = c.saveCiphertext(r);
      badCt ??= rewrap(
        "ciphertext",
        c.id,
        withData(payloadOf(bx), dataOf(payloadOf(bx)).fill(0xffffffffffffffffn)),
      );
      try {
        c.loadCiphertext(badCt);
      } catch (e) {
        if (!(e instanceof HeError)) throw e;
        refused++;
      }
      const got = keys.decrypt(out);
      if (got[round % c.slotCount] !== 2n * (values[round % c.slotCount] as bigint))
        throw new Error("wrong sum");
    };
    const run = (from: number, to: number) => {
      for (let start = from; start < to; start += 100) {
        using kp = c.keygen();
        const keys = {
          pk: c.savePublicKey(kp.publicKey),
          decrypt: (b: Uint8Array) => {
            using ct = c.loadCiphertext(b);
            return c.decrypt(kp.secretKey, ct);
          },
        };
        for (let i = start; i < Math.min(to, start + 100); i++) cycle(i, keys);
      }
    };
    run(0, 100); // warm-up: SEAL's memory pools reach their working size
    const before = he.heapBytes();
    expect(before).toBeGreaterThan(0);
    run(100, 1100);
    const after = he.heapBytes();
    console.log(`WASM heap: ${before} bytes after warm-up, ${after} after 1,000 more cycles`);
    expect(refused).toBe(1100);
    expect((after as number) - (before as number)).toBeLessThanOrEqual(1 << 20);

    // Control: the measure does see a leak. 400 undisposed ciphertexts (≈ 25 MiB) grow the heap.
    using kp = c.keygen();
    const leaked = Array.from({ length: 400 }, () => c.encryptZero(kp.publicKey));
    expect((he.heapBytes() as number) - (after as number)).toBeGreaterThan(16 << 20);
    for (const x of leaked) x.dispose();
  });
});
