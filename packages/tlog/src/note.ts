/**
 * C2SP signed-note (c2sp.org/signed-note): text ending in a newline, a blank line, then signature lines
 * `— <key name> base64(key ID || signature)`. Ed25519 signature type 0x01 (RFC 8032 over the note text);
 * key ID = SHA-256(name || 0x0A || type || public key)[:4], big-endian.
 *
 * Keys travel as the strings golang.org/x/mod/sumdb/note uses:
 *   verifier key  `<name>+<key ID, 8 hex>+base64(type || public key)`
 *   signer key    `PRIVATE+KEY+<name>+<key ID, 8 hex>+base64(type || 32-byte seed)`
 * Type 0x04 (c2sp.org/tlog-cosignature timestamped Ed25519) keys use the same strings with 0x04.
 *
 * The parser is strict: valid UTF-8 with no control characters but newline, the text separated from the
 * signatures by the last blank line, well-formed signature lines with canonical base64, at most
 * MAX_NOTE_BYTES and MAX_SIGNATURES. Unknown signatures are kept but ignored by verification (the spec
 * says MUST ignore); a known key whose signature fails rejects the whole note.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64Decode, base64Encode, bytesEqual, concat, utf8 } from "./bytes.ts";
import { type Ed25519Verify, signEd25519, verifyEd25519 } from "./ed25519.ts";

export const SIG_TYPE_ED25519 = 0x01;
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;
export type SignatureType = typeof SIG_TYPE_ED25519 | typeof SIG_TYPE_COSIGNATURE_V1;

/** Well above the 16 signatures the spec requires verifiers to accept, and far above any note we emit. */
export const MAX_NOTE_BYTES = 64 * 1024;
export const MAX_SIGNATURES = 64;

export type NoteErrorCode = "malformed" | "no_known_signature" | "invalid_signature" | "bad_key";

export class NoteError extends Error {
  override readonly name = "NoteError";
  readonly code: NoteErrorCode;
  constructor(code: NoteErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** A key name: non-empty, no Unicode whitespace, no '+'. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u2014]/u.test(name) && !/[\p{Cc}]/u.test(name);
}

export function keyId(name: string, type: SignatureType, publicKey: Uint8Array): Uint8Array {
  return sha256(concat(utf8(name), new Uint8Array([0x0a, type]), publicKey)).slice(0, 4);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface VerifierKey {
  name: string;
  type: SignatureType;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

export interface SignerKey extends VerifierKey {
  /** The 32-byte Ed25519 seed (RFC 8032 private key). */
  seed: Uint8Array;
}

function checkType(type: number): SignatureType {
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new NoteError("bad_key", `unsupported signature type 0x${type.toString(16).padStart(2, "0")}`);
  }
  return type;
}

export function formatVerifierKey(key: VerifierKey): string {
  return `${key.name}+${hex(key.keyId)}+${base64Encode(concat(new Uint8Array([key.type]), key.publicKey))}`;
}

/** Splits at the first `count` plus signs (base64 key material may itself contain '+'). */
function chop(text: string, count: number): string[] | undefined {
  const out: string[] = [];
  let rest = text;
  for (let i = 0; i < count; i++) {
    const at = rest.indexOf("+");
    if (at < 0) return undefined;
    out.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  return [...out, rest];
}

/** Keys already parsed and checked (decoding a point costs ≈ 0.2 ms in pure JS): a few pinned keys. */
const parsedKeys = new Map<string, VerifierKey>();
const PARSED_KEYS_LIMIT = 256;

export function parseVerifierKey(vkey: string): VerifierKey {
  const known = parsedKeys.get(vkey);
  if (known) return { ...known, keyId: known.keyId.slice(), publicKey: known.publicKey.slice() };
  const key = parseVerifierKeyUncached(vkey);
  if (parsedKeys.size >= PARSED_KEYS_LIMIT) parsedKeys.clear();
  parsedKeys.set(vkey, { ...key, keyId: key.keyId.slice(), publicKey: key.publicKey.slice() });
  return key;
}

function parseVerifierKeyUncached(vkey: string): VerifierKey {
  const parts = chop(vkey, 2);
  if (!parts) throw new NoteError("bad_key", "verifier key must be name+keyid+key");
  const [name, id, b64] = parts as [string, string, string];
  if (!isValidKeyName(name)) throw new NoteError("bad_key", "invalid key name");
  if (!/^[0-9a-f]{8}$/.test(id)) throw new NoteError("bad_key", "key ID must be 8 lower-case hex digits");
  const raw = base64Decode(b64);
  if (raw?.length !== 33) throw new NoteError("bad_key", "key must be base64 of type byte + 32 bytes");
  const type = checkType(raw[0]!);
  const publicKey = raw.slice(1);
  const computed = keyId(name, type, publicKey);
  if (hex(computed) !== id) throw new NoteError("bad_key", "key ID does not match name and key");
  try {
    ed25519.Point.fromBytes(publicKey, false).assertValidity();
  } catch {
    throw new NoteError("bad_key", "not a valid Ed25519 public key");
  }
  return { name, type, keyId: computed, publicKey };
}

export function signerKeyFromSeed(
  name: string,
  seed: Uint8Array,
  type: SignatureType = SIG_TYPE_ED25519,
): SignerKey {
  if (!isValidKeyName(name)) throw new NoteError("bad_key", "invalid key name");
  if (seed.length !== 32) throw new NoteError("bad_key", "Ed25519 seed must be 32 bytes");
  const publicKey = ed25519.getPublicKey(seed);
  return { name, type, keyId: keyId(name, type, publicKey), publicKey, seed: seed.slice() };
}

/** `randomBytes` is a parameter so tests can replay; apps pass crypto.getRandomValues-backed bytes. */
export function generateSignerKey(
  name: string,
  randomBytes: (n: number) => Uint8Array,
  type: SignatureType = SIG_TYPE_ED25519,
): SignerKey {
  return signerKeyFromSeed(name, randomBytes(32), type);
}

export function formatSignerKey(key: SignerKey): string {
  return `PRIVATE+KEY+${key.name}+${hex(key.keyId)}+${base64Encode(concat(new Uint8Array([key.type]), key.seed))}`;
}

export function parseSignerKey(skey: string): SignerKey {
  const parts = chop(skey.trim(), 4);
  if (parts?.[0] !== "PRIVATE" || parts[1] !== "KEY") {
    throw new NoteError("bad_key", "signer key must be PRIVATE+KEY+name+keyid+key");
  }
  const [, , name, id, b64] = parts as [string, string, string, string, string];
  const raw = base64Decode(b64);
  if (raw?.length !== 33) throw new NoteError("bad_key", "key must be base64 of type byte + 32 bytes");
  const key = signerKeyFromSeed(name, raw.slice(1), checkType(raw[0]!));
  if (hex(key.keyId) !== id) throw new NoteError("bad_key", "key ID does not match name and key");
  return key;
}

export function verifierOf(key: SignerKey): VerifierKey {
  return { name: key.name, type: key.type, keyId: key.keyId, publicKey: key.publicKey };
}

export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  /** The signature bytes after the key ID. */
  signature: Uint8Array;
  /** The signature line as it appeared, with its final newline. */
  line: string;
}

export interface ParsedNote {
  /** The signed text, ending in a newline. */
  text: string;
  signatures: NoteSignature[];
}

/** Parses one signature line (with or without its newline). */
export function parseSignatureLine(line: string): NoteSignature {
  const body = line.endsWith("\n") ? line.slice(0, -1) : line;
  const m = /^\u2014 ([^ ]+) ([A-Za-z0-9+/=]+)$/.exec(body);
  if (!m) throw new NoteError("malformed", "signature line must be '— <name> <base64>'");
  const name = m[1]!;
  if (!isValidKeyName(name)) throw new NoteError("malformed", "invalid key name in signature line");
  const raw = base64Decode(m[2]!);
  if (!raw || raw.length < 5)
    throw new NoteError("malformed", "signature must be base64 of key ID and signature");
  return { name, keyId: raw.slice(0, 4), signature: raw.slice(4), line: `${body}\n` };
}

export function parseNote(unverifiedNote: string): ParsedNote {
  if (utf8(unverifiedNote).length > MAX_NOTE_BYTES) throw new NoteError("malformed", "note too large");
  if (unverifiedNote.isWellFormed && !unverifiedNote.isWellFormed()) {
    throw new NoteError("malformed", "note is not valid UTF-8");
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(unverifiedNote)) {
    throw new NoteError("malformed", "note contains control characters");
  }
  const split = unverifiedNote.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("malformed", "note has no blank line before its signatures");
  const text = unverifiedNote.slice(0, split + 1);
  const block = unverifiedNote.slice(split + 2);
  if (block.length === 0 || !block.endsWith("\n")) {
    throw new NoteError("malformed", "note must end with newline-terminated signature lines");
  }
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new NoteError("malformed", "too many signatures");
  return { text, signatures: lines.map(parseSignatureLine) };
}

export function formatNote(text: string, signatureLines: readonly string[]): string {
  if (!text.endsWith("\n")) throw new NoteError("malformed", "note text must end with a newline");
  return `${text}\n${signatureLines.join("")}`;
}

export function signatureLine(key: { name: string; keyId: Uint8Array }, signature: Uint8Array): string {
  return `\u2014 ${key.name} ${base64Encode(concat(key.keyId, signature))}\n`;
}

/** Signs note text with an Ed25519 (type 0x01) key; returns the signature line. */
export function signNoteText(text: string, key: SignerKey): string {
  if (key.type !== SIG_TYPE_ED25519) throw new NoteError("bad_key", "note signing needs a type 0x01 key");
  if (!text.endsWith("\n")) throw new NoteError("malformed", "note text must end with a newline");
  return signatureLine(key, signEd25519(key.seed, utf8(text)));
}

export function matchesKey(sig: NoteSignature, key: VerifierKey): boolean {
  return sig.name === key.name && bytesEqual(sig.keyId, key.keyId);
}

/**
 * Verifies a parsed note against type-0x01 verifier keys. Returns the keys whose signatures verified.
 * Throws `invalid_signature` when a known key's signature fails, `no_known_signature` when none verified.
 */
export function verifyNote(
  note: ParsedNote,
  keys: readonly VerifierKey[],
  verify: Ed25519Verify = verifyEd25519,
): VerifierKey[] {
  const verified: VerifierKey[] = [];
  const message = utf8(note.text);
  for (const sig of note.signatures) {
    const key = keys.find((k) => k.type === SIG_TYPE_ED25519 && matchesKey(sig, k));
    if (!key) continue;
    if (!verify(key.publicKey, message, sig.signature)) {
      throw new NoteError("invalid_signature", `signature by ${key.name} does not verify`);
    }
    if (!verified.includes(key)) verified.push(key);
  }
  if (verified.length === 0) throw new NoteError("no_known_signature", "no signature by a known key");
  return verified;
}
