/**
 * Test helpers: real `relink-keyholder` processes, a stand-in for the hub's member directory (a tiny
 * node:http server answering `/trpc/network.memberDirectory` in the tRPC response shape — not a mock of
 * the holder), and a member request signer built on protocol `requestSigningMessage`.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  keyFingerprint,
  type MemberDirectoryEntry,
  NONCE_BYTES,
  requestSigningMessage,
  SIGNATURE_HEADERS,
  toBase64Url,
} from "@relink/protocol";

export const MAIN = join(import.meta.dirname, "../src/main.ts");

export function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A port that was free a moment ago (the DKG needs every URL in the config before any holder starts). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface HolderProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Every stdout + stderr byte so far. */
  output(): string;
  /** Resolves with the "keyholder.ready" log event, rejects if the process exits first. */
  ready: Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const live = new Set<ChildProcessWithoutNullStreams>();

/** Kills every process started here (afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...live].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGKILL");
        }),
    ),
  );
  live.clear();
}

/** Starts `relink-keyholder serve …` and resolves once it listens (before its DKG, if it runs one). */
export async function startHolder(args: string[]): Promise<HolderProcess> {
  const child = spawn(process.execPath, [MAIN, "serve", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  live.add(child);
  let out = "";
  const events: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let buffered = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    buffered += d.toString();
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        events.push(JSON.parse(line));
      } catch {
        // not a log line
      }
      nl = buffered.indexOf("\n");
    }
    for (const l of listeners) l();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      live.delete(child);
      resolve(code);
      for (const l of listeners) l();
    }),
  );
  const waitEvent = (name: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const e = events.find((x) => x["event"] === name);
        if (e) {
          listeners.delete(check);
          resolve(e);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check);
          reject(new Error(`holder exited (${child.exitCode ?? child.signalCode}) before ${name}:\n${out}`));
        }
      };
      listeners.add(check);
      check();
    });
  const listening = waitEvent("keyholder.listening");
  const ready = waitEvent("keyholder.ready");
  ready.catch(() => {});
  const listened = await listening;
  return {
    child,
    url: listened["url"] as string,
    output: () => out,
    ready,
    exited,
    stop: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------------- member directory

export interface DirectoryStandIn {
  url: string;
  members: MemberDirectoryEntry[];
  fetches: number;
  close(): Promise<void>;
}

export async function startDirectory(members: MemberDirectoryEntry[]): Promise<DirectoryStandIn> {
  const state = { members, fetches: 0 };
  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && req.url?.startsWith("/trpc/network.memberDirectory")) {
      state.fetches++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ result: { data: { members: state.members } } }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "not found" } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  });
}

// ---------------------------------------------------------------------------------- member signing

export interface TestMember {
  entry: MemberDirectoryEntry;
  secretKey: Uint8Array;
}

export function testMember(
  slug: string,
  memberId: string,
  quota: number,
  status: "active" | "suspended" = "active",
): TestMember {
  const secretKey = ed25519.utils.randomSecretKey();
  return {
    secretKey,
    entry: {
      memberId,
      slug,
      status,
      signingKeys: [toBase64Url(ed25519.getPublicKey(secretKey))],
      dailyEvaluationQuota: quota,
    },
  };
}

export interface SignOptions {
  timestampMs?: number;
  nonce?: Uint8Array;
}

/**
 * The signature headers for a request, exactly as the SDK's signedFetch builds them, for `audience`
 * (keyHolderAudience of the holder it is sent to, or hubAudience).
 */
export function signHeaders(
  secretKey: Uint8Array,
  audience: string,
  method: string,
  path: string,
  body: string,
  o: SignOptions = {},
): Record<string, string> {
  const fingerprint = keyFingerprint("ed25519", ed25519.getPublicKey(secretKey));
  const timestampMs = o.timestampMs ?? Date.now();
  const nonce = o.nonce ?? crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const message = requestSigningMessage({
    audience,
    method,
    path,
    bodySha256: sha256(new TextEncoder().encode(body)),
    timestampMs,
    nonce,
    keyFingerprint: fingerprint,
  });
  return {
    "content-type": "application/json",
    [SIGNATURE_HEADERS.key]: toBase64Url(fingerprint),
    [SIGNATURE_HEADERS.timestamp]: String(timestampMs),
    [SIGNATURE_HEADERS.nonce]: toBase64Url(nonce),
    [SIGNATURE_HEADERS.signature]: toBase64Url(ed25519.sign(message, secretKey)),
    [SIGNATURE_HEADERS.audience]: audience,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: test responses are inspected field by field.
type AnyJson = any;

export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: AnyJson; headers: Headers }> {
  const res = await fetch(url, { method: "POST", body, headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}
