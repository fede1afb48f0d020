/** Portfolio totals as shown to the querier: DP post-processing and the 95 % interval of the noise. */
import { AGGREGATE_SLOTS, EXPOSURE_FEATURES, type ExposureFeature } from "@relink/protocol";
import { describe, expect, it } from "vitest";
import { discreteLaplaceHalfWidth, presentAggregate } from "../src/exposure-present.ts";

/** P(|X| > m) for X discrete Laplace with scale b, by summing the pmf (independent of the closed form). */
function tail(b: number, m: number): number {
  const alpha = Math.exp(-1 / b);
  const norm = (1 - alpha) / (1 + alpha); // P(X = 0)
  let inside = norm;
  for (let x = 1; x <= m; x++) inside += 2 * norm * alpha ** x;
  return 1 - inside;
}

describe("discrete Laplace 95 % half-width", () => {
  it("is the least m with P(|X| > m) ≤ 5 %", () => {
    for (const b of [1, 2, 3, 7, 20, 100, 1000]) {
      const m = discreteLaplaceHalfWidth(b, 0.05);
      expect(tail(b, m), `b=${b}`).toBeLessThanOrEqual(0.05 + 1e-12);
      expect(tail(b, m - 1), `b=${b}`).toBeGreaterThan(0.05);
    }
    expect(discreteLaplaceHalfWidth(0, 0.05)).toBe(0);
  });

  it("covers at least 95 % of draws (Monte Carlo with an exact two-sided geometric sampler)", () => {
    const b = 5;
    const alpha = Math.exp(-1 / b);
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed + 0.5) / 2 ** 31;
    };
    // Difference of two geometrics with parameter 1 − α is discrete Laplace with P(x) ∝ α^|x|.
    const geo = () => Math.floor(Math.log(rand()) / Math.log(alpha));
    const m = discreteLaplaceHalfWidth(b, 0.05);
    let inside = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (Math.abs(geo() - geo()) <= m) inside++;
    expect(inside / n).toBeGreaterThan(0.945);
  });
});

describe("presentAggregate", () => {
  const totals = Object.fromEntries(EXPOSURE_FEATURES.map((f, i) => [f, i - 3])) as Record<
    ExposureFeature,
    number
  >;
  const scales = AGGREGATE_SLOTS.map((s) => (s.startsWith("outstanding") ? 2 : 4));

  it("clamps negative totals at 0, keeps the raw value, and gives units, k and ε", () => {
    const p = presentAggregate(totals, { epsilon: 0.11, scales }, { answered: 40, k: 3 });
    expect(p).toMatchObject({ answered: 40, k: 3, epsilon: 0.11 });
    for (const f of p.figures) {
      expect(f.total).toBe(Math.max(0, f.raw));
      expect(f.ci95_low).toBeGreaterThanOrEqual(0);
      expect(f.ci95_low).toBeLessThanOrEqual(f.total);
      expect(f.ci95_high).toBeGreaterThanOrEqual(f.total);
    }
    const active = p.figures.find((f) => f.feature === "active_lenders")!;
    expect([active.raw, active.total, active.unit]).toEqual([-3, 0, "lenders"]);
    const h = discreteLaplaceHalfWidth(4, 0.05);
    expect([active.ci95_low, active.ci95_high]).toEqual([0, Math.max(0, -3 + h)]);
  });

  it("outstanding: CNY, the limbs' scales and half-widths weighted by 2^20 (union bound)", () => {
    const p = presentAggregate(totals, { epsilon: 0.11, scales }, { answered: 1 });
    const o = p.figures.find((f) => f.feature === "outstanding")!;
    expect(o.unit).toBe("CNY");
    expect(o.noise_scale).toBe(2 + 2 * 2 ** 20 + 2 * 2 ** 40);
    const h = discreteLaplaceHalfWidth(2, 0.05 / 3);
    expect(o.ci95_high - Math.max(0, o.raw)).toBe(o.raw + h * (1 + 2 ** 20 + 2 ** 40) - Math.max(0, o.raw));
    expect(p.k).toBeNull();
  });
});
