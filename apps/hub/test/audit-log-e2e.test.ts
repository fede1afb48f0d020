/**
 * End to end, all as processes: a real hub (on PostgreSQL, so this test can append events into the same
 * database the hub serves), a real member witness (`relink witness serve`) and the `relink` CLI.
 * Covers cosigned checkpoints on the hub's cadence, `relink log verify` across growth, receipts verified
 * offline (and a tampered one rejected), and a fork caught by both the CLI and the witness, with evidence.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { appendEvents } from "@relink/core";
import { seededBytes, signRequest } from "@relink/core/testing";
import { freshPostgres, type TestDb, testDatabaseUrl } from "@relink/db/testing";
import { toBase64Url } from "@relink/protocol";
import {
  base64Decode,
  base64Encode,
  formatAddCheckpointRequest,
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  hashLeaf,
  MemoryTree,
  signCheckpoint,
  verifierOf,
} from "@relink/tlog";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELINK_CLI, relinkCli } from "./helpers.ts";

const root = join(import.meta.dirname, "../../..");
const hubMain = join(root, "apps/hub/src/main.ts");
const ORIGIN = "relink.example/audit-log/v1";

const run = relinkCli;

/** Starts a long-running process and resolves with the first match of `ready` in its stdout. */
function start(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`did not start (RELINK_START_TIMEOUT_MS): ${out}`)),
      Number(process.env["RELINK_START_TIMEOUT_MS"] || 600_000),
    );
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ child, match: m[1] });
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${out}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

async function waitForCheckpoint(hub: string, size: number, cosignatures: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${hub}/log/checkpoint`);
    if (res.ok) {
      const note = await res.text();
      if (note.split("\n")[1] === String(size) && note.split("\u2014").length - 2 >= cosignatures)
        return note;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no checkpoint of size ${size} with ${cosignatures} cosignature(s)`);
}

const event = (i: number) => ({
  type: "lookup" as const,
  time: Date.UTC(2026, 10, 26) + i,
  member: "0b5f2f3e-8c1d-4a7e-9d8e-1f2a3b4c5d6e",
  purpose: "debt_collection",
  inputSize: 1,
  outputCount: i % 4,
  decision: "allow" as const,
  ruleIds: ["lookup.consent"],
});

const suite = testDatabaseUrl() ? describe : describe.skip;

suite("hub + witness + relink CLI as processes [postgres]", () => {
  const dir = mkdtempSync(join(tmpdir(), "relink-e2e-"));
  const logKey = generateSignerKey(ORIGIN, (n) => crypto.getRandomValues(new Uint8Array(n)));
  const logVkey = formatVerifierKey(verifierOf(logKey));
  let db: TestDb;
  let hub: { child: ChildProcess; match: string };
  let witness: { child: ChildProcess; match: string };
  let witnessVkey: string;
  const networkFile = join(dir, "network.json");
  const adminKey = seededBytes(4242)(32);
  /** GET as the network administrator (leaves and receipts are not public). */
  const adminGet = (url: string) => {
    const u = new URL(url);
    const r = signRequest(adminKey, { method: "GET", path: u.pathname + u.search, timestampMs: Date.now() });
    return fetch(url, { headers: r.headers });
  };

  beforeAll(async () => {
    db = await freshPostgres(testDatabaseUrl()!);
    writeFileSync(join(dir, "log.key"), `${formatSignerKey(logKey)}\n`, { mode: 0o600 });
    // Leaves and receipts are read with a signed request (ADR 0040): here the network administrator's.
    writeFileSync(
      networkFile,
      JSON.stringify({
        networkId: "relink.test",
        epoch: 1,
        threshold: 1,
        keyHolders: [{ index: 1, url: "http://127.0.0.1:9" }],
        adminKeys: [toBase64Url(ed25519.getPublicKey(adminKey))],
      }),
    );
    const keygen = await run([
      "witness",
      "keygen",
      "--name",
      "member-a.example/witness",
      "--out",
      join(dir, "w.key"),
    ]);
    expect(keygen.code).toBe(0);
    witnessVkey = keygen.out.trim();
    witness = await start(
      [
        RELINK_CLI,
        "witness",
        "serve",
        "--key",
        join(dir, "w.key"),
        "--log-key",
        logVkey,
        "--state",
        join(dir, "w.state.json"),
        "--port",
        "0",
      ],
      {},
      /witness listening on (http:\/\/\S+)/,
    );
    hub = await start(
      [hubMain],
      {
        HUB_PORT: "0",
        DATABASE_URL: db.connectionString!,
        RELINK_DATA_DIR: join(dir, "hubdata"),
        RELINK_LOG_KEY_FILE: join(dir, "log.key"),
        RELINK_LOG_WITNESSES: `${witnessVkey} ${witness.match}`,
        RELINK_LOG_CHECKPOINT_INTERVAL_MS: "200",
        RELINK_NETWORK_CONFIG: networkFile,
      },
      /listening on (http:\/\/\S+)/,
    );
  });

  afterAll(async () => {
    if (hub) await stop(hub.child);
    if (witness) await stop(witness.child);
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("publishes cosigned checkpoints; `relink log verify` follows the log as it grows", async () => {
    await appendEvents(
      db.db,
      Array.from({ length: 5 }, (_, i) => event(i)),
    );
    await waitForCheckpoint(hub.match, 5, 1);
    const args = [
      "log",
      "verify",
      "--hub",
      hub.match,
      "--log-key",
      logVkey,
      "--state",
      join(dir, "monitor.json"),
      "--witness",
      witnessVkey,
    ];
    const first = await run(args);
    expect(first.err).toBe("");
    expect(first.out).toMatch(/log OK: .* size 5 \(first checkpoint\), 1 witness cosignature/);
    await appendEvents(
      db.db,
      Array.from({ length: 8 }, (_, i) => event(5 + i)),
    );
    await waitForCheckpoint(hub.match, 13, 1);
    const second = await run(args);
    expect(second.out).toMatch(/size 13 \(consistent with 5\)/);
    expect(second.code).toBe(0);
  });

  it("`relink receipt verify` accepts a receipt from the hub and rejects a tampered one with its reason", async () => {
    const receipt = await (await adminGet(`${hub.match}/log/receipt/3`)).json();
    writeFileSync(join(dir, "r.json"), JSON.stringify(receipt));
    const ok = await run([
      "receipt",
      "verify",
      join(dir, "r.json"),
      "--log-key",
      logVkey,
      "--witness",
      witnessVkey,
      "--k",
      "1",
    ]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/receipt OK: leaf 3 \(lookup/);
    const leaf = base64Decode(receipt.leaf)!;
    leaf[leaf.length - 1]! ^= 1;
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ ...receipt, leaf: base64Encode(leaf) }));
    const bad = await run([
      "receipt",
      "verify",
      join(dir, "bad.json"),
      "--log-key",
      logVkey,
      "--witness",
      witnessVkey,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/receipt REJECTED: (inclusion_proof_invalid|malformed_leaf)/);
    const stranger = formatVerifierKey(
      verifierOf(generateSignerKey(ORIGIN, (n) => new Uint8Array(n).fill(9))),
    );
    const unknown = await run(["receipt", "verify", join(dir, "r.json"), "--log-key", stranger]);
    expect(unknown.err).toMatch(/no_log_signature/);
  });

  it("answers bad proof requests with 400/404 and serves leaves and proofs", async () => {
    expect((await fetch(`${hub.match}/log/proof/inclusion?index=01&size=5`)).status).toBe(400);
    expect((await fetch(`${hub.match}/log/proof/inclusion?index=5&size=5`)).status).toBe(400);
    expect((await fetch(`${hub.match}/log/proof/consistency?from=0&to=5`)).status).toBe(400);
    expect((await adminGet(`${hub.match}/log/leaf/999`)).status).toBe(404);
    expect((await fetch(`${hub.match}/log/leaf/2`)).status).toBe(401);
    const leaf = await (await adminGet(`${hub.match}/log/leaf/2`)).json();
    expect(base64Encode(hashLeaf(base64Decode(leaf.leaf)!))).toBe(leaf.leafHash);
    const proof = await (await fetch(`${hub.match}/log/proof/inclusion?index=2&size=13`)).json();
    expect(proof).toMatchObject({ index: "2", size: "13" });
    expect(proof.proof.length).toBe(4);
  });

  it("detects a fork: the CLI and the witness each keep both signed notes", async () => {
    // A split view of size 13, signed by the real log key (as a compromised hub could).
    const other = new MemoryTree();
    for (let i = 0; i < 13; i++) other.append(hashLeaf(new Uint8Array([i, 0xf0])));
    const forkNote = signCheckpoint(
      { origin: ORIGIN, size: 13n, root: other.root(), extensions: [] },
      logKey,
    );

    // Member monitor: its saved checkpoint is the forked one; the hub now serves the honest 13 → fork.
    const state = join(dir, "forked-monitor.json");
    writeFileSync(state, JSON.stringify({ checkpoint: forkNote, evidence: [] }));
    const res = await run(["log", "verify", "--hub", hub.match, "--log-key", logVkey, "--state", state]);
    expect(res.code).toBe(4);
    expect(res.err).toMatch(/FORK DETECTED \(same_size_conflict\)/);
    const saved = JSON.parse(readFileSync(state, "utf8"));
    expect(saved.evidence[0].savedNote).toBe(forkNote);
    expect(saved.evidence[0].servedNote.split("\n")[1]).toBe("13");
    expect(saved.checkpoint).toBe(forkNote); // it did not move on

    // The witness cosigned the honest 13: offered the fork, it refuses and keeps both notes.
    const w = await fetch(`${witness.match}/add-checkpoint`, {
      method: "POST",
      body: formatAddCheckpointRequest({ oldSize: 13n, proof: [], checkpoint: forkNote }),
    });
    expect(w.status).toBe(409);
    const wstate = JSON.parse(readFileSync(join(dir, "w.state.json"), "utf8"));
    expect(wstate.evidence[0]).toMatchObject({ kind: "same_size_conflict", conflictingNote: forkNote });
    expect(wstate.logs[ORIGIN].size).toBe("13");
  });
});
