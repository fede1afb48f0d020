/**
 * The `relink` bin (bin/relink.js): runs the CLI with Node's compile cache in a directory only the user can
 * write, and refuses a cache directory someone else could have written (the cache holds code we run).
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildReceipt,
  encodeAuditEvent,
  formatVerifierKey,
  generateSignerKey,
  hashLeaf,
  inclusionProof,
  MemoryTree,
  signCheckpoint,
  verifierOf,
} from "@relink/tlog";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = join(import.meta.dirname, "../bin/relink.js");
const dir = mkdtempSync(join(tmpdir(), "relink-bin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const uid = process.getuid?.();

let args: string[];
beforeAll(async () => {
  const log = generateSignerKey("relink.example/audit-log/v1", (n) => new Uint8Array(n).fill(7));
  const leaves = [0, 1].map((i) => encodeAuditEvent({ type: "denial", time: 1_764_144_000_000 + i }));
  const tree = new MemoryTree();
  for (const l of leaves) tree.append(hashLeaf(l));
  const checkpoint = signCheckpoint({ origin: log.name, size: 2n, root: tree.root(), extensions: [] }, log);
  const receipt = buildReceipt({
    index: 0n,
    leaf: leaves[0]!,
    inclusionProof: await inclusionProof(0n, 2n, tree.read),
    checkpoint,
  });
  const file = join(dir, "receipt.json");
  writeFileSync(file, JSON.stringify(receipt));
  args = ["receipt", "verify", file, "--log-key", formatVerifierKey(verifierOf(log))];
});

/** Runs the bin with its own temp dir (TMPDIR), so the default cache directory lands inside it. */
function run(tmp: string, env: Record<string, string> = {}) {
  mkdirSync(tmp, { recursive: true });
  const e: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, ...env };
  delete e["NODE_COMPILE_CACHE"];
  if (!("RELINK_COMPILE_CACHE" in env)) delete e["RELINK_COMPILE_CACHE"];
  return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: e });
}
const entries = (d: string): number => readdirSync(d, { recursive: true }).length;

describe.skipIf(uid === undefined)("bin/relink.js and its compile cache", () => {
  it("verifies a receipt and fills an owner-only cache, then verifies again from it", () => {
    const tmp = join(dir, "t1");
    const first = run(tmp);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/receipt OK: leaf 0 \(denial/);
    const cache = join(tmp, `relink-compile-cache-${uid}`);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(entries(cache)).toBeGreaterThan(10); // cli.ts, the receipt group, tlog, commander, noble …
    const second = run(tmp);
    expect(second.status).toBe(0);
    expect(second.stdout).toBe(first.stdout);
  });

  it("ignores a cache directory others can write, or that is a link, and still runs", () => {
    const tmp = join(dir, "t2");
    const squat = join(tmp, `relink-compile-cache-${uid}`);
    mkdirSync(squat, { recursive: true });
    chmodSync(squat, 0o777);
    const r = run(tmp);
    expect(r.status).toBe(0);
    expect(entries(squat)).toBe(0);

    const tmp3 = join(dir, "t3");
    const target = join(dir, "elsewhere");
    mkdirSync(target, { recursive: true, mode: 0o700 });
    mkdirSync(tmp3, { recursive: true });
    symlinkSync(target, join(tmp3, `relink-compile-cache-${uid}`));
    expect(run(tmp3).status).toBe(0);
    expect(entries(target)).toBe(0);
  });

  it("RELINK_COMPILE_CACHE=off writes no cache", () => {
    const tmp = join(dir, "t4");
    expect(run(tmp, { RELINK_COMPILE_CACHE: "off" }).status).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
