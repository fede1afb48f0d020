/**
 * `relink receipt verify` re-verifies the consent proofs a lookup leaf commits to (ADR 0050): found beside
 * the receipt or given with --consent-proofs; a proof for another tag, or a bundle the leaf does not commit
 * to, is rejected with exit code 1. One real Groth16 proof from the committed artifacts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadZkArtifacts } from "@relink/sdk";
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
import {
  type ConsentOpening,
  type ConsentProofBundle,
  consentLeaf,
  encodeBundle,
  membershipInput,
  PoseidonTree,
  proofsCommitment,
  prove,
  VKEY_HASH,
} from "@relink/zk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bundleBeside } from "../src/commands/receipt.ts";

const cli = join(import.meta.dirname, "../src/cli.ts");
const dir = mkdtempSync(join(tmpdir(), "relink-cli-zk-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const relink = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });

const NOW = 1_764_754_200_000;
const opening: ConsentOpening = {
  tag: new Uint8Array(32).fill(9),
  purpose: "debt_collection",
  category: "contact",
  legalBasis: "consent",
  expiresAt: NOW + 86_400_000,
  evidenceHash: new Uint8Array(32).fill(1),
  salt: new Uint8Array(31).fill(2),
};
const tree = new PoseidonTree(undefined, [consentLeaf(opening)]);
let bundle: ConsentProofBundle;
const log = generateSignerKey("relink.example/audit-log/v1", (n) => new Uint8Array(n).fill(3));
const logKey = formatVerifierKey(verifierOf(log));

async function writeReceipt(
  file: string,
  consentProofsHash: string,
  type: "lookup" | "exposure.query" = "lookup",
): Promise<void> {
  const leaf = encodeAuditEvent({ type, time: NOW, purpose: "debt_collection", consentProofsHash });
  const tree = new MemoryTree();
  tree.append(hashLeaf(leaf));
  const checkpoint = signCheckpoint({ origin: log.name, size: 1n, root: tree.root(), extensions: [] }, log);
  const receipt = buildReceipt({
    index: 0n,
    leaf,
    inclusionProof: await inclusionProof(0n, 1n, tree.read),
    checkpoint,
  });
  writeFileSync(file, JSON.stringify(receipt));
}

beforeAll(async () => {
  const { proof } = await prove(loadZkArtifacts(), membershipInput(opening, tree.path(0), tree.root(), NOW));
  bundle = {
    vkeySha256: VKEY_HASH,
    purpose: "debt_collection",
    category: "contact",
    queryTime: NOW,
    items: [{ tag: opening.tag, root: tree.root(), proof }],
  };
});

it("checks the bundle found beside the receipt against the leaf's commitment", async () => {
  const receipt = join(dir, "match-1.json");
  expect(bundleBeside(receipt)).toBe(join(dir, "match-consent-proofs-1.json"));
  await writeReceipt(receipt, proofsCommitment(bundle));
  const missing = relink("receipt", "verify", receipt, "--log-key", logKey);
  expect(missing.status).toBe(0);
  expect(missing.stdout).toMatch(/consent proofs: committed in the leaf .* no bundle/);
  writeFileSync(bundleBeside(receipt), encodeBundle(bundle));
  const ok = relink("receipt", "verify", receipt, "--log-key", logKey);
  expect(ok.stderr).toBe("");
  expect(ok.status).toBe(0);
  expect(ok.stdout).toMatch(/consent proofs OK: 1 Groth16 proof\(s\) for 'debt_collection' \(contact\)/);
});

it("rejects a bundle proved for contact data under an exposure leaf (ADR 0048)", async () => {
  const receipt = join(dir, "exposure-1.json");
  await writeReceipt(receipt, proofsCommitment(bundle), "exposure.query");
  writeFileSync(join(dir, "exposure-bundle.json"), encodeBundle(bundle));
  const r = relink(
    "receipt",
    "verify",
    receipt,
    "--log-key",
    logKey,
    "--consent-proofs",
    join(dir, "exposure-bundle.json"),
  );
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/proved for category contact, a exposure.query leaf reads credit_exposure/);
});

it("rejects a proof for another tag, a bundle the leaf does not commit to, and a malformed bundle", async () => {
  const receipt = join(dir, "match-2.json");
  const other = { ...bundle, items: [{ ...bundle.items[0]!, tag: new Uint8Array(32).fill(8) }] };
  await writeReceipt(receipt, proofsCommitment(other));
  const alt = join(dir, "other.json");
  writeFileSync(alt, encodeBundle(other));
  const forged = relink("receipt", "verify", receipt, "--log-key", logKey, "--consent-proofs", alt);
  expect(forged.status).toBe(1);
  expect(forged.stderr).toMatch(/consent proofs REJECTED: invalid_proof/);
  writeFileSync(alt, encodeBundle(bundle));
  const swapped = relink("receipt", "verify", receipt, "--log-key", logKey, "--consent-proofs", alt);
  expect(swapped.status).toBe(1);
  expect(swapped.stderr).toMatch(/is not the leaf's/);
  writeFileSync(alt, "{}");
  const malformed = relink("receipt", "verify", receipt, "--log-key", logKey, "--consent-proofs", alt);
  expect(malformed.status).toBe(1);
  expect(malformed.stderr).toMatch(/malformed bundle/);
});
