/**
 * Artifact manifest: which circuit, proving key and verification key this build of the network uses, each
 * pinned by SHA-256. The build (circuits/scripts/build.ts) writes artifacts/ and manifest.generated.ts; this
 * leaf does no I/O — callers read and gunzip the files (from `artifactUrl`) and pass the bytes through
 * `checkArtifact`.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { ZkError } from "./errors.ts";
import { MANIFEST, VERIFICATION_KEY } from "./manifest.generated.ts";

export { MANIFEST, VERIFICATION_KEY };
export type ArtifactName = "wasm" | "zkey";

/** Lower-case hex (noble's). */
export const toHex = bytesToHex;

/** JSON with object keys sorted at every level, no whitespace: the bytes a verification key is hashed over. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** SHA-256 (hex) of a verification key's canonical JSON: what the audit log records. */
export function vkeyHash(vkey: object): string {
  return toHex(sha256(new TextEncoder().encode(canonicalJson(vkey))));
}

/** Where an artifact of this build lives: a gzip file next to the package (gunzip, then `checkArtifact`). */
export function artifactUrl(name: ArtifactName): URL {
  return new URL(`../artifacts/${MANIFEST[name].file}.gz`, import.meta.url);
}

/** Throws ZkError("ARTIFACT_MISMATCH") unless the bytes are the manifest's artifact. */
export function checkArtifact(name: ArtifactName, bytes: Uint8Array): Uint8Array {
  const got = toHex(sha256(bytes));
  if (got !== MANIFEST[name].sha256) {
    throw new ZkError("ARTIFACT_MISMATCH", `${name}: SHA-256 ${got}, manifest says ${MANIFEST[name].sha256}`);
  }
  return bytes;
}

/** The verification key hash of this build (checked against the committed key at load). */
export const VKEY_HASH: string = (() => {
  const h = vkeyHash(VERIFICATION_KEY);
  if (h !== MANIFEST.vkeySha256)
    throw new ZkError("ARTIFACT_MISMATCH", "verification key does not match manifest");
  return h;
})();
