/**
 * The member node's home directory: its secrets and settings, kept on the member's machine only.
 *   member.json (0600): hub URL, Ed25519 request-signing secret key, record key, optional pinned log key.
 * Raw books (CSV) stay wherever the member keeps them; only derived values leave the node.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromHex, toBase64Url, toHex } from "@relink/protocol";
import { ed25519Signer, type MemberSecrets } from "@relink/sdk";
import { writeFileAtomic } from "./commands/options.ts";

export interface MemberHome {
  hubUrl: string;
  signingSecretKey: string;
  recordKey: string;
  /** The audit log's verifier key; receipts are verified against it when set. */
  logKey?: string;
}

export const DEFAULT_HOME = ".relink/member";

const file = (home: string) => join(home, "member.json");

export function initHome(
  home: string,
  hubUrl: string,
  logKey?: string,
): { publicKey: string; created: boolean } {
  if (existsSync(file(home))) {
    const existing = readHome(home);
    return {
      publicKey: toBase64Url(ed25519.getPublicKey(fromHex(existing.signingSecretKey))),
      created: false,
    };
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const secret = ed25519.utils.randomSecretKey();
  const config: MemberHome = {
    hubUrl,
    signingSecretKey: toHex(secret),
    recordKey: toHex(crypto.getRandomValues(new Uint8Array(32))),
    ...(logKey ? { logKey } : {}),
  };
  writeFileAtomic(file(home), `${JSON.stringify(config, null, 2)}\n`);
  chmodSync(file(home), 0o600);
  return { publicKey: toBase64Url(ed25519.getPublicKey(secret)), created: true };
}

export function readHome(home: string): MemberHome {
  if (!existsSync(file(home))) throw new Error(`no member node in ${home}: run 'relink init' first`);
  const config = JSON.parse(readFileSync(file(home), "utf8")) as MemberHome;
  if (!/^[0-9a-f]{64}$/.test(config.signingSecretKey) || !/^[0-9a-f]{64}$/.test(config.recordKey)) {
    throw new Error(`${file(home)}: malformed keys`);
  }
  return config;
}

export function secretsOf(config: MemberHome): MemberSecrets {
  return { signer: ed25519Signer(fromHex(config.signingSecretKey)), recordKey: fromHex(config.recordKey) };
}
