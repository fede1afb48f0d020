/**
 * Probe (not a benchmark): where one `verifyReceipt` call spends its time, step by step, beside the raw
 * node:crypto floor, in one process. `npm exec -- node packages/tlog/bench/verify-probe.ts [--leaves N] [--n calls]`.
 */
import {
  createHash,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
} from "node:crypto";
import {
  base64Decode,
  decodeAuditEvent,
  hashLeaf,
  openCheckpoint,
  parseNote,
  parseVerifierKey,
  verifyCosignatures,
  verifyInclusion,
  verifyReceipt,
} from "../src/index.ts";
import { sampleReceipt } from "../src/testing.ts";

const i = process.argv.indexOf("--leaves");
const LEAVES = i > 0 ? Number(process.argv[i + 1]) : 2 ** 16;
const rnd = (n: number) => new Uint8Array(randomBytes(n));
function perCall(n: number, f: () => unknown): number {
  for (let k = 0; k < Math.min(200, n); k++) f();
  const t = performance.now();
  for (let k = 0; k < n; k++) f();
  return ((performance.now() - t) / n) * 1000;
}
const {
  receipt,
  receiptObject: receiptObj,
  checkpoint: cp,
  proofLength,
  trust,
} = await sampleReceipt(LEAVES, rnd);
const leaf = base64Decode(receiptObj.leaf)!;
const index = Number(receiptObj.index);
if (!verifyReceipt(receipt, trust).ok) throw new Error("no");

const msg = rnd(200);
const { privateKey, publicKey: pk } = generateKeyPairSync("ed25519");
const sig = nodeSign(null, msg, privateKey);
const n = process.argv.indexOf("--n");
const N = n > 0 ? Number(process.argv[n + 1]) : 3000;
const rows: [string, number][] = [];
const raw = perCall(N, () => nodeVerify(null, msg, pk, sig));
const sha = perCall(N * 10, () => createHash("sha256").update(msg.subarray(0, 64)).digest());
rows.push(
  ["raw ed25519 verify", raw],
  ["sha256 createHash", sha],
  ["floor", 2 * raw + (proofLength + 1) * sha],
);
rows.push(["verifyReceipt", perCall(N, () => verifyReceipt(receipt, trust))]);
rows.push(["verifyReceipt (parsed obj)", perCall(N, () => verifyReceipt(receiptObj, trust))]);
const lk = parseVerifierKey(trust.logKey);
const wk = parseVerifierKey(trust.witnesses[0]!);
rows.push([
  "parseVerifierKey x2",
  perCall(N, () => [parseVerifierKey(trust.logKey), parseVerifierKey(trust.witnesses[0]!)]),
]);
rows.push(["JSON.parse", perCall(N, () => JSON.parse(receipt))]);
rows.push(["parseNote", perCall(N, () => parseNote(cp))]);
rows.push(["openCheckpoint", perCall(N, () => openCheckpoint(cp, lk))]);
const opened = openCheckpoint(cp, lk);
rows.push(["verifyCosignatures", perCall(N, () => verifyCosignatures(opened.note, [wk], 1))]);
rows.push(["base64Decode leaf", perCall(N, () => base64Decode(receiptObj.leaf))]);
rows.push(["decodeAuditEvent", perCall(N, () => decodeAuditEvent(leaf))]);
const pr = receiptObj.inclusionProof.map((h) => base64Decode(h)!);
rows.push(["base64Decode proof", perCall(N, () => receiptObj.inclusionProof.map((h) => base64Decode(h)))]);
rows.push([
  "verifyInclusion+hashLeaf",
  perCall(N, () =>
    verifyInclusion(BigInt(index), opened.checkpoint.size, hashLeaf(leaf), pr, opened.checkpoint.root),
  ),
]);
for (const [name, us] of rows) console.log(`${name.padEnd(30)} ${us.toFixed(1)} µs`);
