/** The `relink` CLI as a process, without a hub: command groups, and an offline receipt check. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildReceipt,
  cosign,
  encodeAuditEvent,
  formatVerifierKey,
  generateSignerKey,
  hashLeaf,
  inclusionProof,
  MemoryTree,
  parseNote,
  SIG_TYPE_COSIGNATURE_V1,
  signCheckpoint,
  verifierOf,
} from "@relink/tlog";
import { afterAll, expect, it } from "vitest";

const cli = join(import.meta.dirname, "../src/cli.ts");
const dir = mkdtempSync(join(tmpdir(), "relink-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const relink = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
const fixed = (b: number) => (n: number) => new Uint8Array(n).fill(b);

it("lists its command groups", () => {
  const help = relink("--help");
  expect(help.status).toBe(0);
  for (const group of ["log", "receipt", "witness"]) expect(help.stdout).toContain(group);
});

it("verifies a receipt offline and names the reason when it fails", async () => {
  const log = generateSignerKey("relink.example/audit-log/v1", fixed(1));
  const w = generateSignerKey("member.example/witness", fixed(2), SIG_TYPE_COSIGNATURE_V1);
  const leaves = [0, 1, 2].map((i) => encodeAuditEvent({ type: "denial", time: 1_764_144_000_000 + i }));
  const tree = new MemoryTree();
  for (const l of leaves) tree.append(hashLeaf(l));
  const note = signCheckpoint({ origin: log.name, size: 3n, root: tree.root(), extensions: [] }, log);
  const checkpoint = note + cosign(parseNote(note).text, w, 1_764_144_000n);
  const receipt = buildReceipt({
    index: 1n,
    leaf: leaves[1]!,
    inclusionProof: await inclusionProof(1n, 3n, tree.read),
    checkpoint,
  });
  const file = join(dir, "receipt.json");
  writeFileSync(file, JSON.stringify(receipt));
  const args = ["receipt", "verify", file, "--log-key", formatVerifierKey(verifierOf(log))];
  const ok = relink(...args, "--witness", formatVerifierKey(verifierOf(w)));
  expect(ok.status).toBe(0);
  expect(ok.stdout).toMatch(/receipt OK: leaf 1 \(denial/);
  writeFileSync(file, `${JSON.stringify(receipt)}trailing`);
  const bad = relink(...args);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/malformed_receipt/);
});
