/**
 * Writes a regulator export pack (PIPL Art. 54–56; ADR 0042) as a directory: the files built by the SDK's
 * `buildExportPack` (the same code the portal's browser worker runs, ADR 0064) — the ledger slice from the
 * hub, the member's PIPIA reference, a README, the independent verifier (verify.mjs, Node built-ins only)
 * and manifest.json listing each file's SHA-256, signed with the exporting DPO's Ed25519 key (manifest.sig).
 * The regulator runs `node verify.mjs --signer-key … --log-key …` inside the directory.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ExportSlice, ed25519SignerFor } from "@relink/protocol";
import { buildExportPack } from "@relink/sdk";

export const VERIFIER_SOURCE = fileURLToPath(import.meta.resolve("@relink/sdk/verify-export.mjs"));

export interface PackInput {
  slice: ExportSlice;
  pipiaReference: string;
  /** The log's verifier key as the member pinned it. */
  logKey: string;
  /** The DPO's Ed25519 secret key (32 bytes). */
  signerSecretKey: Uint8Array;
  createdAt: Date;
}

export async function writeExportPack(
  dir: string,
  input: PackInput,
): Promise<{ files: string[]; signerPublicKey: string }> {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} exists and is not empty`);
  const pack = await buildExportPack({
    slice: input.slice,
    pipiaReference: input.pipiaReference,
    logKey: input.logKey,
    verifierSource: readFileSync(VERIFIER_SOURCE, "utf8"),
    signer: ed25519SignerFor(input.signerSecretKey),
    createdAt: input.createdAt,
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of pack.files) writeFileSync(join(dir, f.path), f.bytes, { mode: 0o600 });
  return { files: pack.files.map((f) => f.path), signerPublicKey: pack.signerPublicKey };
}
