/**
 * The member node's home directory: its secrets and settings, kept on the member's machine only.
 *   member.json (0600): hub URL, Ed25519 request-signing secret key, record key, optional pinned log key,
 *                       and (once exposure is used) the X25519 mask key and whether the hub has it.
 *   exposure-keys/ (0700): one file (0600) per exposure query, the HE secret key under the SHA-256 of its
 *                       public key, kept 24 h so that the hub's cached answer can still be decrypted.
 *   exposure-subjects.json (0600): the tags this node last registered as a lender (to unregister leavers).
 *   receipts/ (0700): every audit receipt the hub returned, one file (0600) per leaf index, kept so the member
 *                       can prove its queries and `relink log verify` can check the hub still serves those leaves.
 *   checkpoint.json (0600): the last audit-log checkpoint `relink log verify` accepted, the audited frontier
 *                       of the leaves it re-hashed, and any fork evidence (bounded, deduplicated).
 *   signing-key.pending.json (0600): during `relink key rotate` only, the new signing key before the hub
 *                       confirmed it (so a crash after the hub's commit never loses it).
 *   retired-keys/ (0700): one file (0600) per signing key replaced by `relink key rotate`, named by its
 *                       fingerprint: the old secret key, kept as a backup (ADR 0068).
 * Raw books (CSV) stay wherever the member keeps them; only derived values leave the node.
 */
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromBase64Url, fromHex, keyFingerprint, toBase64Url, toHex } from "@relink/protocol";
import { ed25519Signer, type HeKeyStore, type MaskKeyState, type MemberSecrets } from "@relink/sdk";
import { writeFileAtomic } from "./commands/options.ts";
import { UserError } from "./errors.ts";

export interface MemberHome {
  hubUrl: string;
  signingSecretKey: string;
  recordKey: string;
  /** The audit log's verifier key; receipts are verified against it when set. */
  logKey?: string;
  /** Trusted witnesses' cosignature verifier keys and how many must cosign (receipts and `log verify`). */
  witnessKeys?: string[];
  witnessK?: number;
  /** Exposure: X25519 mask secret key (hex) and whether it is registered with the hub. */
  maskSecretKey?: string;
  maskKeyRegistered?: boolean;
}

export const DEFAULT_HOME = ".relink/member";

const file = (home: string) => join(home, "member.json");

export function initHome(
  home: string,
  hubUrl: string,
  logKey?: string,
  witnesses?: { keys: string[]; k: number },
): { publicKey: string; created: boolean } {
  if (existsSync(file(home))) {
    const existing = readHome(home);
    return {
      publicKey: toBase64Url(ed25519.getPublicKey(fromHex(existing.signingSecretKey))),
      created: false,
    };
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700); // also when the directory already existed
  const secret = ed25519.utils.randomSecretKey();
  const config: MemberHome = {
    hubUrl,
    signingSecretKey: toHex(secret),
    recordKey: toHex(crypto.getRandomValues(new Uint8Array(32))),
    ...(logKey ? { logKey } : {}),
    ...(witnesses && witnesses.keys.length > 0 ? { witnessKeys: witnesses.keys, witnessK: witnesses.k } : {}),
  };
  writeFileAtomic(file(home), `${JSON.stringify(config, null, 2)}\n`);
  chmodSync(file(home), 0o600);
  return { publicKey: toBase64Url(ed25519.getPublicKey(secret)), created: true };
}

export function readHome(home: string): MemberHome {
  if (!existsSync(file(home))) throw new UserError(`no member node in ${home}: run 'relink init' first`);
  let config: MemberHome;
  try {
    config = JSON.parse(readFileSync(file(home), "utf8")) as MemberHome;
  } catch (error) {
    throw new UserError(`${file(home)}: cannot read (${(error as Error).message})`);
  }
  if (!/^[0-9a-f]{64}$/.test(config.signingSecretKey) || !/^[0-9a-f]{64}$/.test(config.recordKey)) {
    throw new UserError(`${file(home)}: malformed keys`);
  }
  return config;
}

export function secretsOf(config: MemberHome): MemberSecrets {
  return { signer: ed25519Signer(fromHex(config.signingSecretKey)), recordKey: fromHex(config.recordKey) };
}

// ------------------------------------------------------------------------------------ key rotation (0068)

const pendingKeyFile = (home: string) => join(home, "signing-key.pending.json");
export const retiredKeysDir = (home: string) => join(home, "retired-keys");

/** Keeps the new signing key beside member.json before the hub is asked to accept it. */
export function stagePendingKey(home: string, secretKey: Uint8Array): string {
  writeFileAtomic(
    pendingKeyFile(home),
    `${JSON.stringify({ signingSecretKey: toHex(secretKey), stagedAt: new Date().toISOString() })}\n`,
  );
  chmodSync(pendingKeyFile(home), 0o600);
  return pendingKeyFile(home);
}

/** The staged key of an interrupted rotation, if any. */
export function readPendingKey(home: string): Uint8Array | undefined {
  if (!existsSync(pendingKeyFile(home))) return undefined;
  const k = JSON.parse(readFileSync(pendingKeyFile(home), "utf8")) as { signingSecretKey?: unknown };
  if (typeof k.signingSecretKey !== "string" || !/^[0-9a-f]{64}$/.test(k.signingSecretKey)) {
    throw new UserError(`${pendingKeyFile(home)}: malformed key`);
  }
  return fromHex(k.signingSecretKey);
}

export function discardPendingKey(home: string): void {
  rmSync(pendingKeyFile(home), { force: true });
}

/**
 * After the hub committed the rotation: the old secret key goes to retired-keys/<fingerprint>.json (0600),
 * then member.json is replaced atomically (temp file + rename) with the new key, then the staged copy is
 * removed. Each step is safe to redo after a crash. Returns the backup file. `reason` 'lost': the key is
 * replaced for an administrator re-key (ADR 0037), without the hub.
 */
export function completeKeyRotation(
  home: string,
  newSecretKey: Uint8Array,
  at: Date,
  reason: "rotated" | "lost" = "rotated",
): string {
  const config = readHome(home);
  const oldSecret = fromHex(config.signingSecretKey);
  const oldPublic = ed25519.getPublicKey(oldSecret);
  const dir = retiredKeysDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const backup = join(dir, `${toBase64Url(keyFingerprint("ed25519", oldPublic))}.json`);
  if (toHex(newSecretKey) !== config.signingSecretKey) {
    writeFileAtomic(
      backup,
      `${JSON.stringify(
        {
          signingSecretKey: config.signingSecretKey,
          publicKey: toBase64Url(oldPublic),
          retiredAt: at.toISOString(),
          reason,
        },
        null,
        2,
      )}\n`,
    );
    chmodSync(backup, 0o600);
    writeFileAtomic(
      file(home),
      `${JSON.stringify({ ...config, signingSecretKey: toHex(newSecretKey) }, null, 2)}\n`,
    );
    chmodSync(file(home), 0o600);
  }
  discardPendingKey(home);
  return backup;
}

// ---------------------------------------------------------------------------------------------- exposure

/** The member's exposure mask key, if it has one. */
export function readMaskKey(home: string): MaskKeyState | undefined {
  const config = readHome(home);
  if (config.maskSecretKey === undefined) return undefined;
  if (!/^[0-9a-f]{64}$/.test(config.maskSecretKey)) throw new Error(`${file(home)}: malformed mask key`);
  return { secretKey: fromHex(config.maskSecretKey), registered: config.maskKeyRegistered === true };
}

/** Stores the mask key in member.json (the other settings untouched). */
export function saveMaskKey(home: string, state: MaskKeyState): void {
  const config: MemberHome = {
    ...readHome(home),
    maskSecretKey: toHex(state.secretKey),
    maskKeyRegistered: state.registered,
  };
  writeFileAtomic(file(home), `${JSON.stringify(config, null, 2)}\n`);
  chmodSync(file(home), 0o600);
}

const subjectsFile = (home: string) => join(home, "exposure-subjects.json");

/** The tags this node registered as a lender last time (empty when it never did). */
export function readRegisteredTags(home: string): string[] {
  if (!existsSync(subjectsFile(home))) return [];
  const parsed = JSON.parse(readFileSync(subjectsFile(home), "utf8")) as { tags?: unknown };
  return Array.isArray(parsed.tags) ? parsed.tags.filter((t): t is string => typeof t === "string") : [];
}

export function saveRegisteredTags(home: string, tags: readonly string[]): void {
  writeFileAtomic(subjectsFile(home), `${JSON.stringify({ tags })}\n`);
}

const HASH = /^[A-Za-z0-9_-]{43}$/;

/**
 * HE secret keys of this node's exposure queries, one file each under exposure-keys/, named by the
 * base64url SHA-256 of the public key and deleted once expired (checked on every access).
 */
export function fileHeKeyStore(home: string, now: () => number = Date.now): HeKeyStore {
  const dir = join(home, "exposure-keys");
  const path = (hash: string) => {
    if (!HASH.test(hash)) throw new Error("malformed public key hash");
    return join(dir, `${hash}.json`);
  };
  const prune = () => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(".json")) continue;
      try {
        const k = JSON.parse(readFileSync(join(dir, name), "utf8")) as { expiresAtMs?: number };
        if (!(typeof k.expiresAtMs === "number" && k.expiresAtMs > now()))
          rmSync(join(dir, name), { force: true });
      } catch {
        rmSync(join(dir, name), { force: true });
      }
    }
  };
  return {
    put(hash, secretKey, expiresAtMs) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      prune();
      writeFileAtomic(path(hash), `${JSON.stringify({ expiresAtMs, secretKey: toBase64Url(secretKey) })}\n`);
    },
    get(hash, nowMs) {
      prune();
      const p = path(hash);
      if (!existsSync(p)) return undefined;
      const k = JSON.parse(readFileSync(p, "utf8")) as { expiresAtMs: number; secretKey: string };
      return k.expiresAtMs > nowMs ? fromBase64Url(k.secretKey) : undefined;
    },
    delete(hash) {
      rmSync(path(hash), { force: true });
    },
  };
}

// ------------------------------------------------------------------------------------------------ audit

export const checkpointFile = (home: string) => join(home, "checkpoint.json");
const receiptsDir = (home: string) => join(home, "receipts");

/**
 * Keeps receipts (already verified by the caller) in receipts/, one file per leaf index; a receipt for an
 * index already kept is not rewritten (the first one stays). Returns how many were new.
 */
export function keepReceipts(home: string, receipts: readonly unknown[]): number {
  const dir = receiptsDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  let added = 0;
  for (const r of receipts) {
    const index = (r as { index?: unknown }).index;
    if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) continue;
    try {
      writeFileSync(join(dir, `${String(index).padStart(12, "0")}.json`), `${JSON.stringify(r)}\n`, {
        mode: 0o600,
        flag: "wx",
      });
      added++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  return added;
}

/** The receipts kept in receipts/, by leaf index (unparseable files are reported, not skipped silently). */
export function keptReceipts(home: string): { file: string; index: bigint; leaf?: string }[] {
  const dir = receiptsDir(home);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /^\d{12}\.json$/.test(n))
    .sort()
    .map((n) => {
      const file = join(dir, n);
      try {
        const r = JSON.parse(readFileSync(file, "utf8")) as { leaf?: unknown };
        return {
          file,
          index: BigInt(n.slice(0, 12)),
          ...(typeof r.leaf === "string" ? { leaf: r.leaf } : {}),
        };
      } catch {
        return { file, index: BigInt(n.slice(0, 12)) };
      }
    });
}

// ------------------------------------------------------------------------------------------------- cases

const casesFile = (home: string) => join(home, "cases.jsonl");

/**
 * Records a case id with the commitment the audit log carries for it (cases.jsonl, 0600, one JSON object
 * per line), so that the member's DPO can name the case of every ledger entry later — also when the case
 * id was generated because `--case` was not given. The hub only ever sees the commitment.
 */
export function recordCase(
  home: string,
  entry: { caseId: string; caseCommitment: string; purpose: string; at: Date },
): void {
  appendFileSync(
    casesFile(home),
    `${JSON.stringify({ caseId: entry.caseId, commitment: toHex(fromBase64Url(entry.caseCommitment)), purpose: entry.purpose, at: entry.at.toISOString() })}\n`,
    { mode: 0o600 },
  );
}

/** The member's case register: commitment (hex, as in audit leaves) → case id. */
export function readCases(home: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(casesFile(home))) return out;
  for (const line of readFileSync(casesFile(home), "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const c = JSON.parse(line) as { caseId?: unknown; commitment?: unknown };
      if (typeof c.caseId === "string" && typeof c.commitment === "string") out.set(c.commitment, c.caseId);
    } catch {
      // A torn last line (crash mid-write) is skipped; every complete line still counts.
    }
  }
  return out;
}
