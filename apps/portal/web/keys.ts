/**
 * The member's secrets in this browser (IndexedDB, origin-scoped): the Ed25519 request-signing key as a
 * non-extractable WebCrypto key (its bytes cannot be read back by any script, ours included), its public
 * key and the record key (32 bytes that key record ids; an HMAC key, kept as bytes because the SDK's
 * record ids use @noble/hashes). Imported once from the CLI's member.json; never sent to the hub.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { toHex } from "@relink/protocol";

export interface StoredMemberKey {
  privateKey: CryptoKey;
  publicKey: Uint8Array;
  recordKey: Uint8Array;
  hubUrl: string | null;
  /** The audit log's verifier key pinned in member.json (`relink init --log-key`), if any. */
  logKey: string | null;
  importedAt: string;
}

const DB = "relink-portal";
const STORE = "member-key";
/** The exposure querier's keys (web/he-keys.ts): the wrapping key and the per-query BFV secret keys. */
export const HE_STORE = "he-keys";
/** The data-protection officer's own Ed25519 key (ADR 0063), apart from the member key. */
export const DPO_STORE = "dpo-key";
const STORES = [STORE, HE_STORE, DPO_STORE] as const;

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    // Version 2 added the exposure querier's store, 3 the DPO key's; existing keys are kept.
    const req = indexedDB.open(DB, 3);
    req.onupgradeneeded = () => {
      for (const name of STORES)
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** One request in one transaction on one of the portal's stores. */
export async function tx<T>(
  mode: IDBTransactionMode,
  f: (s: IDBObjectStore) => IDBRequest<T>,
  store: (typeof STORES)[number] = STORE,
): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const r = f(db.transaction(store, mode).objectStore(store));
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  } finally {
    db.close();
  }
}

export const loadMemberKey = (): Promise<StoredMemberKey | undefined> =>
  tx("readonly", (s) => s.get("current") as IDBRequest<StoredMemberKey | undefined>);
export const removeMemberKey = (): Promise<undefined> => tx("readwrite", (s) => s.delete("current"));

const hex = (s: unknown, field: string): Uint8Array => {
  if (typeof s !== "string" || !/^[0-9a-f]{64}$/.test(s))
    throw new Error(`${field}: 64 hex characters expected`);
  return Uint8Array.from(s.match(/../g)!.map((b) => Number.parseInt(b, 16)));
};

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410 §7): fixed 16-byte prefix then the 32 bytes.
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/** A non-extractable WebCrypto Ed25519 signing key from a 32-byte seed; the seed and its copy are wiped. */
async function importSeed(seed: Uint8Array): Promise<{ privateKey: CryptoKey; publicKey: Uint8Array }> {
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(seed, 16);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  const publicKey = ed25519.getPublicKey(seed);
  seed.fill(0);
  pkcs8.fill(0);
  return { privateKey, publicKey };
}

/** The DPO's key in this browser: non-extractable, signs DPO requests and export packs in the worker. */
export interface StoredDpoKey {
  privateKey: CryptoKey;
  publicKey: Uint8Array;
  importedAt: string;
}

export class KeyFileError extends Error {
  override readonly name = "KeyFileError";
}

export const loadDpoKey = (): Promise<StoredDpoKey | undefined> =>
  tx("readonly", (s) => s.get("current") as IDBRequest<StoredDpoKey | undefined>, DPO_STORE);
export const removeDpoKey = (): Promise<undefined> => tx("readwrite", (s) => s.delete("current"), DPO_STORE);

/**
 * Imports the key file of `relink dpo keygen` (the 32-byte Ed25519 secret key as 64 lowercase hex
 * characters, one line). Anything else is refused with a KeyFileError naming what was expected; a
 * member.json (the member's key, not the DPO's) is refused by name.
 */
export async function importDpoKeyFile(text: string): Promise<StoredDpoKey> {
  const line = text.trim();
  if (line.startsWith("{"))
    throw new KeyFileError("this is a member key file (member.json), not a DPO key file (relink dpo keygen)");
  if (!/^[0-9a-f]{64}$/.test(line))
    throw new KeyFileError("expected one line of 64 hex characters (the file of `relink dpo keygen`)");
  const { privateKey, publicKey } = await importSeed(
    Uint8Array.from(line.match(/../g)!.map((b) => Number.parseInt(b, 16))),
  );
  const stored: StoredDpoKey = { privateKey, publicKey, importedAt: new Date().toISOString() };
  await tx("readwrite", (s) => s.put(stored, "current"), DPO_STORE);
  return stored;
}

/** Parses member.json, imports its signing key as non-extractable and stores it; wipes the seed copy. */
export async function importMemberKeyFile(text: string): Promise<StoredMemberKey> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error("not JSON");
  }
  const seed = hex(json["signingSecretKey"], "signingSecretKey");
  const recordKey = hex(json["recordKey"], "recordKey");
  const { privateKey, publicKey } = await importSeed(seed);
  const stored: StoredMemberKey = {
    privateKey,
    publicKey,
    recordKey,
    hubUrl: typeof json["hubUrl"] === "string" ? json["hubUrl"] : null,
    logKey: typeof json["logKey"] === "string" ? json["logKey"] : null,
    importedAt: new Date().toISOString(),
  };
  await tx("readwrite", (s) => s.put(stored, "current"));
  return stored;
}

/**
 * A new request-signing key made here (the crypto worker), for a rotation (ADR 0068): the non-extractable
 * WebCrypto key that will sign from now on, and the key file the member admin downloads — member.json as
 * `relink init` writes it (same hub, record key and log key), so member nodes can take the new key. The seed
 * exists only inside that text; it is never sent to the hub.
 */
export async function newMemberSigningKey(
  current: StoredMemberKey,
  hubUrl: string,
): Promise<{ privateKey: CryptoKey; publicKey: Uint8Array; keyFile: string }> {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const keyFile = `${JSON.stringify(
    {
      hubUrl: current.hubUrl ?? hubUrl,
      signingSecretKey: toHex(seed),
      recordKey: toHex(current.recordKey),
      ...(current.logKey ? { logKey: current.logKey } : {}),
    },
    null,
    2,
  )}\n`;
  const { privateKey, publicKey } = await importSeed(seed); // wipes the seed
  return { privateKey, publicKey, keyFile };
}

/** After the hub accepted the rotation: the new key replaces the stored one (record key and settings kept). */
export async function replaceMemberSigningKey(
  current: StoredMemberKey,
  next: { privateKey: CryptoKey; publicKey: Uint8Array },
): Promise<StoredMemberKey> {
  const stored: StoredMemberKey = {
    ...current,
    privateKey: next.privateKey,
    publicKey: next.publicKey,
    importedAt: new Date().toISOString(),
  };
  await tx("readwrite", (s) => s.put(stored, "current"));
  return stored;
}

/**
 * A new DPO key made here (the crypto worker), for a rotation (ADR 0037): the non-extractable WebCrypto key
 * and the key file in the format of `relink dpo keygen` (64 hex characters, one line), which the DPO
 * downloads. The seed exists only inside that text; it is never sent to the hub.
 */
export async function newDpoKey(): Promise<{
  privateKey: CryptoKey;
  publicKey: Uint8Array;
  keyFile: string;
}> {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const keyFile = `${toHex(seed)}\n`;
  const { privateKey, publicKey } = await importSeed(seed); // wipes the seed
  return { privateKey, publicKey, keyFile };
}

/** After the hub accepted a DPO key rotation: the new key replaces the stored one. */
export async function replaceDpoKey(next: {
  privateKey: CryptoKey;
  publicKey: Uint8Array;
}): Promise<StoredDpoKey> {
  const stored: StoredDpoKey = {
    privateKey: next.privateKey,
    publicKey: next.publicKey,
    importedAt: new Date().toISOString(),
  };
  await tx("readwrite", (s) => s.put(stored, "current"), DPO_STORE);
  return stored;
}
