/**
 * The exposure querier's key material in this browser (IndexedDB, origin-scoped, next to the member key of
 * web/keys.ts): each query's fresh BFV secret key is kept 24 h (the hub's answer cache window: an identical
 * query within it is answered under the first query's key) — sealed with AES-256-GCM under a wrapping key
 * made here as a non-extractable WebCrypto key, so the stored bytes are useless outside this origin's
 * WebCrypto. Expired keys are deleted when met and on every new key. Never sent anywhere.
 */
import type { HeKeyStore } from "@relink/sdk/browser-exposure";
import { HE_STORE, tx } from "./keys.ts";

interface SealedKey {
  iv: Uint8Array;
  sealed: ArrayBuffer;
  expiresAtMs: number;
}

const WRAP = "wrap-key";
const entry = (hash: string) => `sk:${hash}`;
const heTx = <T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>) => tx(mode, f, HE_STORE);

let wrapReady: Promise<CryptoKey> | undefined;
function wrapKey(): Promise<CryptoKey> {
  wrapReady ??= (async () => {
    const existing = await heTx("readonly", (s) => s.get(WRAP) as IDBRequest<CryptoKey | undefined>);
    if (existing) return existing;
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]);
    await heTx("readwrite", (s) => s.put(key, WRAP));
    return key;
  })().catch((error: unknown) => {
    wrapReady = undefined;
    throw error;
  });
  return wrapReady;
}

/** Additional data binding a sealed key to its public key's hash and expiry (no swapping entries). */
const aad = (hash: string, expiresAtMs: number) =>
  new TextEncoder().encode(`relink/he-key/${hash}/${expiresAtMs}`);

async function sweep(nowMs: number): Promise<void> {
  const keys = (await heTx("readonly", (s) => s.getAllKeys())) as string[];
  for (const k of keys) {
    if (!k.startsWith("sk:")) continue;
    const v = await heTx("readonly", (s) => s.get(k) as IDBRequest<SealedKey | undefined>);
    if (v && v.expiresAtMs <= nowMs) await heTx("readwrite", (s) => s.delete(k));
  }
}

export function browserHeKeyStore(): HeKeyStore {
  return {
    async put(hash, secretKey, expiresAtMs) {
      await sweep(Date.now());
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: aad(hash, expiresAtMs) },
        await wrapKey(),
        secretKey as Uint8Array<ArrayBuffer>,
      );
      await heTx("readwrite", (s) => s.put({ iv, sealed, expiresAtMs } satisfies SealedKey, entry(hash)));
    },
    async get(hash, nowMs) {
      const v = await heTx("readonly", (s) => s.get(entry(hash)) as IDBRequest<SealedKey | undefined>);
      if (!v) return undefined;
      if (v.expiresAtMs <= nowMs) {
        await heTx("readwrite", (s) => s.delete(entry(hash)));
        return undefined;
      }
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: v.iv as Uint8Array<ArrayBuffer>, additionalData: aad(hash, v.expiresAtMs) },
        await wrapKey(),
        v.sealed,
      );
      return new Uint8Array(plain);
    },
    async delete(hash) {
      await heTx("readwrite", (s) => s.delete(entry(hash)));
    },
  };
}
