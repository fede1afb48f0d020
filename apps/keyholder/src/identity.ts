/**
 * A holder's long-lived identity, created once by `relink-keyholder init` and kept in
 * `<data-dir>/identity.json` (mode 0600):
 *  - an Ed25519 key (RFC 8032) that signs its DKG messages,
 *  - an X25519 key (RFC 7748) that peers seal round-2 shares to.
 * The public halves go into the network config; the secret halves never leave the data dir.
 */
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { bytes, fromBase64Url, toBase64Url } from "@relink/protocol";
import { z } from "zod";
import { DIR_MODE, readJsonIfExists, SECRET_FILE_MODE, writeJsonExclusive } from "./files.ts";

export const IDENTITY_FILE = "identity.json";

const identityFile = z.object({
  version: z.literal(1),
  index: z.number().int().min(1).max(255),
  identitySecretKey: bytes(32, "identitySecretKey"),
  encryptionSecretKey: bytes(32, "encryptionSecretKey"),
});

export interface HolderIdentity {
  index: number;
  identitySecretKey: Uint8Array;
  identityPublicKey: Uint8Array;
  encryptionSecretKey: Uint8Array;
  encryptionPublicKey: Uint8Array;
}

/** What goes into the network config's `holders` entry (plus the operator-chosen `url`). */
export interface PublicIdentity {
  index: number;
  identityPublicKey: string;
  encryptionPublicKey: string;
}

export function publicIdentity(id: HolderIdentity): PublicIdentity {
  return {
    index: id.index,
    identityPublicKey: toBase64Url(id.identityPublicKey),
    encryptionPublicKey: toBase64Url(id.encryptionPublicKey),
  };
}

export function generateIdentity(index: number): HolderIdentity {
  const identitySecretKey = ed25519.utils.randomSecretKey();
  const encryptionSecretKey = x25519.utils.randomSecretKey();
  return {
    index,
    identitySecretKey,
    identityPublicKey: ed25519.getPublicKey(identitySecretKey),
    encryptionSecretKey,
    encryptionPublicKey: x25519.getPublicKey(encryptionSecretKey),
  };
}

/** Creates the identity in a new or empty data dir; refuses to overwrite an existing one. */
export function initIdentity(dataDir: string, index: number): HolderIdentity {
  if (!Number.isInteger(index) || index < 1 || index > 255)
    throw new Error("--index: expected an integer in 1..255");
  mkdirSync(dataDir, { recursive: true, mode: DIR_MODE });
  chmodSync(dataDir, DIR_MODE); // owner only, also when the directory already existed
  const path = join(dataDir, IDENTITY_FILE);
  if (existsSync(path)) throw new Error(`${path} already exists: refusing to replace a holder identity`);
  const id = generateIdentity(index);
  writeJsonExclusive(
    path,
    {
      version: 1,
      index,
      identitySecretKey: toBase64Url(id.identitySecretKey),
      encryptionSecretKey: toBase64Url(id.encryptionSecretKey),
    },
    SECRET_FILE_MODE,
  );
  return id;
}

export function loadIdentity(dataDir: string): HolderIdentity {
  const path = join(dataDir, IDENTITY_FILE);
  const json = readJsonIfExists(path);
  if (json === undefined) throw new Error(`${path} does not exist: run \`relink-keyholder init\` first`);
  const parsed = identityFile.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: ${parsed.error.issues[0]!.message}`);
  const identitySecretKey = fromBase64Url(parsed.data.identitySecretKey);
  const encryptionSecretKey = fromBase64Url(parsed.data.encryptionSecretKey);
  return {
    index: parsed.data.index,
    identitySecretKey,
    identityPublicKey: ed25519.getPublicKey(identitySecretKey),
    encryptionSecretKey,
    encryptionPublicKey: x25519.getPublicKey(encryptionSecretKey),
  };
}
