/**
 * Writes a regulator export pack (PIPL Art. 54–56; ADR 0042): a directory with the ledger slice from the
 * hub, the member's PIPIA reference, a README, the independent verifier (verify.mjs, Node built-ins only)
 * and manifest.json listing each file's SHA-256, signed with the exporting DPO's Ed25519 key (manifest.sig).
 * The regulator runs `node verify.mjs --signer-key … --log-key …` inside the directory.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { type ExportSlice, toBase64Url } from "@relink/protocol";

export const VERIFIER_SOURCE = join(import.meta.dirname, "../assets/verify-export.mjs");

export interface PackInput {
  slice: ExportSlice;
  pipiaReference: string;
  /** The log's verifier key as the member pinned it. */
  logKey: string;
  /** The DPO's Ed25519 secret key (32 bytes). */
  signerSecretKey: Uint8Array;
  createdAt: Date;
}

export function writeExportPack(dir: string, input: PackInput): { files: string[]; signerPublicKey: string } {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} exists and is not empty`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text, { mode: 0o600 });
  write("slice.json", `${JSON.stringify(input.slice, null, 2)}\n`);
  write(
    "pipia.json",
    `${JSON.stringify({ pipiaReference: input.pipiaReference, scope: input.slice.scope }, null, 2)}\n`,
  );
  copyFileSync(VERIFIER_SOURCE, join(dir, "verify.mjs"));
  write(
    "README.txt",
    [
      "Relink regulator export pack (relink-export-pack/v1) / 监管导出包",
      "",
      "slice.json   audit log leaves with inclusion proofs, the signed (cosigned) checkpoint, earlier",
      "             checkpoints with consistency proofs, consent records, members, the export's receipt",
      "pipia.json   the member's personal-information protection impact assessment reference",
      "manifest.json / manifest.sig   SHA-256 of every file, signed (Ed25519) by the exporting DPO",
      "verify.mjs   independent verifier, Node built-ins only:",
      "             node verify.mjs --signer-key <DPO public key> --log-key <log verifier key> [--witness <vkey>]",
      "",
    ].join("\n"),
  );
  const files = ["slice.json", "pipia.json", "verify.mjs", "README.txt"];
  const signerPublicKey = toBase64Url(ed25519.getPublicKey(input.signerSecretKey));
  const manifest = {
    format: "relink-export-pack/v1",
    createdAt: input.createdAt.toISOString(),
    scope: input.slice.scope,
    range: { from: input.slice.from, to: input.slice.to },
    pipiaReference: input.pipiaReference,
    logKey: input.logKey,
    signerPublicKey,
    files: files.map((path) => {
      const bytes = readFileSync(join(dir, path));
      return { path, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
    }),
  };
  const manifestBytes = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, "manifest.json"), manifestBytes, { mode: 0o600 });
  write(
    "manifest.sig",
    `${Buffer.from(ed25519.sign(manifestBytes, input.signerSecretKey)).toString("base64")}\n`,
  );
  return { files: [...files, "manifest.json", "manifest.sig"], signerPublicKey };
}
