/**
 * Probe behind ADR 0016 (not one of the `npm run bench` benchmarks): is @noble/curves' Pippenger cheaper
 * per term than libsodium WASM's multiply-and-add for the combined check's composites (ADR 0013)?
 * `node packages/psi/bench/msm-probe.ts [N]` (through npm's pinned node: `npm exec -- node …`). Same
 * process, same random points and scalars; prints µs per term and checks both give the same sum.
 */
import { pippenger } from "@noble/curves/abstract/curve.js";
import { ristretto255 } from "@noble/curves/ed25519.js";
import { equalBytes } from "../src/bytes.ts";
import { randomScalar, scalarToBigint } from "../src/group.ts";
import { loadSodiumGroup } from "../src/sodium-group.ts";

const g = await loadSodiumGroup();
const rng = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const N = Number(process.argv[2] ?? 1024);
const points = Array.from({ length: N }, () => g.mulBase(randomScalar(g, rng)));
const scalars = Array.from({ length: N }, () => randomScalar(g, rng));
const perTerm = (f: () => unknown) => {
  const t = performance.now();
  const out = f();
  return { us: ((performance.now() - t) * 1000) / N, out };
};

for (let i = 0; i < N; i++) g.add(g.mul(scalars[i]!, points[i]!), points[0]!); // warm the WASM path
const wasm = perTerm(() => {
  let acc = g.mul(scalars[0]!, points[0]!);
  for (let i = 1; i < N; i++) acc = g.add(acc, g.mul(scalars[i]!, points[i]!));
  return acc;
});
const wasmMul = perTerm(() => points.map((p, i) => g.mul(scalars[i]!, p)));
const wasmAdd = perTerm(() => points.map((p, i) => g.add(p, points[(i + 1) % N]!)));
const decode = perTerm(() => points.map((p) => ristretto255.Point.fromBytes(p)));
const decoded = decode.out as InstanceType<typeof ristretto255.Point>[];
const noble = perTerm(() => pippenger(ristretto255.Point, decoded, scalars.map(scalarToBigint)).toBytes());
const noble128 = perTerm(() =>
  pippenger(
    ristretto255.Point,
    decoded,
    scalars.map((s) => scalarToBigint(s) >> 125n),
  ),
);
console.log(
  JSON.stringify({
    N,
    sameSum: equalBytes(noble.out as Uint8Array, wasm.out as Uint8Array),
    wasmMulAddPerTermUs: +wasm.us.toFixed(1),
    wasmMulUs: +wasmMul.us.toFixed(1),
    wasmAddUs: +wasmAdd.us.toFixed(1),
    nobleDecodeUs: +decode.us.toFixed(1),
    noblePippengerPerTermUs: +noble.us.toFixed(1),
    noblePippenger128BitPerTermUs: +noble128.us.toFixed(1),
  }),
);
