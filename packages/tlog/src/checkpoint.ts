/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text is the origin line, the tree size in
 * decimal without leading zeros, the base64 root hash, then optional non-empty extension lines. Signed as a
 * C2SP signed note by the log's Ed25519 key, whose name is the origin.
 */
import { base64Decode, base64Encode, parseDecimal } from "./bytes.ts";
import type { Ed25519Verify } from "./ed25519.ts";
import { HASH_SIZE } from "./merkle.ts";
import {
  formatNote,
  NoteError,
  type ParsedNote,
  parseNote,
  type SignerKey,
  signNoteText,
  type VerifierKey,
  verifyNote,
} from "./note.ts";

export const MAX_EXTENSION_LINES = 16;

export interface Checkpoint {
  origin: string;
  size: bigint;
  root: Uint8Array;
  extensions: string[];
}

export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
  readonly code: "malformed" | "origin_mismatch";
  constructor(code: "malformed" | "origin_mismatch", message: string) {
    super(message);
    this.code = code;
  }
}

export function formatCheckpointBody(cp: Checkpoint): string {
  if (!cp.origin || /[\n]/.test(cp.origin)) throw new CheckpointError("malformed", "bad origin");
  if (cp.root.length !== HASH_SIZE) throw new CheckpointError("malformed", "root must be 32 bytes");
  if (cp.size < 0n) throw new CheckpointError("malformed", "negative size");
  for (const e of cp.extensions)
    if (!e || e.includes("\n")) throw new CheckpointError("malformed", "bad extension");
  return [cp.origin, cp.size.toString(), base64Encode(cp.root), ...cp.extensions]
    .map((l) => `${l}\n`)
    .join("");
}

export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new CheckpointError("malformed", "checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3)
    throw new CheckpointError("malformed", "checkpoint needs origin, size and root lines");
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw new CheckpointError("malformed", "empty origin line");
  const size = parseDecimal(sizeLine);
  if (size === undefined)
    throw new CheckpointError("malformed", "size must be decimal with no leading zeros");
  const root = base64Decode(rootLine);
  if (!root || root.length !== HASH_SIZE)
    throw new CheckpointError("malformed", "root must be base64 of 32 bytes");
  if (extensions.length > MAX_EXTENSION_LINES)
    throw new CheckpointError("malformed", "too many extension lines");
  if (extensions.some((e) => e.length === 0)) throw new CheckpointError("malformed", "empty extension line");
  return { origin, size, root, extensions };
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  note: ParsedNote;
  /** The full signed note text as received or produced. */
  noteText: string;
}

export function signCheckpoint(cp: Checkpoint, key: SignerKey): string {
  const text = formatCheckpointBody(cp);
  return formatNote(text, [signNoteText(text, key)]);
}

/**
 * Parses and verifies a checkpoint note against the pinned log key; the origin must equal `origin`
 * (default: the key name). Throws NoteError or CheckpointError with a code.
 */
export function openCheckpoint(
  unverifiedNote: string,
  logKey: VerifierKey,
  origin: string = logKey.name,
  verify?: Ed25519Verify,
): SignedCheckpoint {
  const note = parseNote(unverifiedNote);
  const checkpoint = parseCheckpointBody(note.text);
  verifyNote(note, [logKey], verify);
  if (checkpoint.origin !== origin) {
    throw new CheckpointError("origin_mismatch", `origin '${checkpoint.origin}', want '${origin}'`);
  }
  return { checkpoint, note, noteText: unverifiedNote };
}

export { NoteError };
