/**
 * Preset ids are versioned: the parameters behind an id never change. test/golden/presets-v1.json (our own
 * output, recorded when the presets were introduced) pins each preset's primes, t, SEAL parms_id of the key
 * and data levels, and serialized sizes; a node-seal upgrade or an edit that changes any of them fails here
 * and needs a new preset id instead.
 */
import { describe, expect, it } from "vitest";
import { loadHe, PRESET_IDS } from "../src/index.ts";
import golden from "./golden/presets-v1.json" with { type: "json" };

describe("presets are pinned", () => {
  for (const id of PRESET_IDS) {
    it(id, async () => {
      const c = (await loadHe()).context(id);
      using kp = c.keygen();
      using ct = c.encryptZero(kp.publicKey);
      const o = 7 + id.length;
      const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
      expect({
        polyModulusDegree: c.slotCount,
        coeffModulus: c.coeffModulus.map(String),
        plainModulus: String(c.plainModulus),
        keyParmsId: hex(c.savePublicKey(kp.publicKey).subarray(o + 16, o + 48)),
        dataParmsId: hex(c.saveCiphertext(ct).subarray(o + 16, o + 48)),
        serializedBytes: c.serializedBytes,
      }).toEqual(golden[id]);
      // 128-bit classical security: total coefficient-modulus bits within the HE standard's bound
      const bits = c.coeffModulus.reduce((a, q) => a + q.toString(2).length, 0);
      expect(bits).toBeLessThanOrEqual(c.slotCount === 4096 ? 109 : 218);
    });
  }
});
