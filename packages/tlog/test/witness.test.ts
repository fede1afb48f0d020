import { describe, expect, it } from "vitest";
import { base64Encode } from "../src/bytes.ts";
import { openCheckpoint, parseCheckpointBody, signCheckpoint } from "../src/checkpoint.ts";
import { cosign, verifyCosignatures } from "../src/cosignature.ts";
import { consistencyProof, hashLeaf, MemoryTree } from "../src/merkle.ts";
import {
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  verifierOf,
} from "../src/note.ts";
import { formatAddCheckpointRequest, MAX_EVIDENCE, Witness } from "../src/witness.ts";
import { seeded } from "./helpers.ts";

const ORIGIN = "relink.example/audit-log/v1";
const logKey = generateSignerKey(ORIGIN, seeded(1));
const witnessKey = generateSignerKey("witness.example/w1", seeded(2), SIG_TYPE_COSIGNATURE_V1);

function grow(tree: MemoryTree, to: number, salt = 0): void {
  while (tree.size < BigInt(to)) tree.append(hashLeaf(new Uint8Array([Number(tree.size) & 255, salt])));
}

function checkpointOf(tree: MemoryTree, size = tree.size): string {
  return signCheckpoint({ origin: ORIGIN, size, root: tree.root(size), extensions: [] }, logKey);
}

async function request(tree: MemoryTree, oldSize: bigint, note: string): Promise<string> {
  const size = parseCheckpointBody(parseNote(note).text).size;
  const proof = oldSize === 0n || oldSize === size ? [] : await consistencyProof(oldSize, size, tree.read);
  return formatAddCheckpointRequest({ oldSize, proof, checkpoint: note });
}

describe("keys and checkpoints", () => {
  it("round-trips signer and verifier keys in the sumdb/note string formats", () => {
    expect(parseSignerKey(formatSignerKey(logKey))).toEqual(logKey);
    const vkey = formatVerifierKey(verifierOf(logKey));
    expect(vkey).toMatch(/^relink\.example\/audit-log\/v1\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    expect(parseVerifierKey(vkey)).toEqual(verifierOf(logKey));
  });

  it("signs and opens a checkpoint; the parser is strict", () => {
    const tree = new MemoryTree();
    grow(tree, 5);
    const note = checkpointOf(tree);
    expect(openCheckpoint(note, verifierOf(logKey)).checkpoint.size).toBe(5n);
    const text = parseNote(note).text;
    const root = base64Encode(tree.root());
    for (const bad of [
      `${ORIGIN}\n05\n${root}\n`, // leading zero
      `${ORIGIN}\n-5\n${root}\n`,
      `${ORIGIN}\n5\n${root.slice(4)}\n`, // short root
      `${ORIGIN}\n5\n${root}\n\n`, // empty extension line
      `\n5\n${root}\n`, // empty origin
      `${ORIGIN}\n5\n`,
    ]) {
      expect(() => parseCheckpointBody(bad)).toThrow();
    }
    expect(parseCheckpointBody(`${text}ext line\n`).extensions).toEqual(["ext line"]);
    expect(() => openCheckpoint(`${note}garbage`, verifierOf(logKey))).toThrow(/signature lines/);
    expect(() => openCheckpoint(note.replace("\u2014", "-"), verifierOf(logKey))).toThrow();
    expect(() => openCheckpoint(note.replace("\n5\n", "\n6\n"), verifierOf(logKey))).toThrow(
      /does not verify/,
    );
    const other = generateSignerKey(ORIGIN, seeded(9));
    expect(() => openCheckpoint(note, verifierOf(other))).toThrow(/no signature by a known key/);
  });

  it("cosignature/v1 verifies with the witness key only, and k-of-n counts distinct known witnesses", () => {
    const tree = new MemoryTree();
    grow(tree, 3);
    const note = checkpointOf(tree);
    const text = parseNote(note).text;
    const w2 = generateSignerKey("witness.example/w2", seeded(3), SIG_TYPE_COSIGNATURE_V1);
    const stranger = generateSignerKey("witness.example/w3", seeded(4), SIG_TYPE_COSIGNATURE_V1);
    const full = note + cosign(text, witnessKey, 1700000000n) + cosign(text, stranger, 1700000000n);
    const ws = [verifierOf(witnessKey), verifierOf(w2)];
    expect(verifyCosignatures(parseNote(full), ws, 1)).toMatchObject({ ok: true });
    expect(verifyCosignatures(parseNote(full), ws, 2)).toMatchObject({
      ok: false,
      reason: "insufficient_cosignatures",
      valid: 1,
    });
    const bad =
      note +
      cosign(text, witnessKey, 1700000000n).replace(
        /[A-Za-z](=*\n)$/,
        (m) => (m[0] === "A" ? "B" : "A") + m.slice(1),
      );
    expect(verifyCosignatures(parseNote(bad), ws, 1)).toMatchObject({
      ok: false,
      reason: "cosignature_invalid",
    });
  });
});

describe("Witness (tlog-witness add-checkpoint)", () => {
  const logs = [{ origin: ORIGIN, key: verifierOf(logKey) }];
  const now = () => 1764144000n;

  it("cosigns the first checkpoint and then only consistent growth", async () => {
    const tree = new MemoryTree();
    grow(tree, 7);
    const w = new Witness({ key: witnessKey, logs, now });
    const first = w.addCheckpoint(await request(tree, 0n, checkpointOf(tree)));
    expect(first.status).toBe(200);
    const cosigned = checkpointOf(tree) + first.body;
    expect(verifyCosignatures(parseNote(cosigned), [verifierOf(witnessKey)], 1).ok).toBe(true);

    grow(tree, 20);
    expect(w.addCheckpoint(await request(tree, 7n, checkpointOf(tree))).status).toBe(200);
    expect(w.state.logs[ORIGIN]?.size).toBe("20");
    // A stale old size gets 409 with the witness's size, as text/x.tlog.size.
    grow(tree, 25);
    const stale = w.addCheckpoint(await request(tree, 7n, checkpointOf(tree)));
    expect(stale).toMatchObject({ status: 409, body: "20\n", contentType: "text/x.tlog.size" });
    // Rollback: a smaller checkpoint is refused.
    const rollback = formatAddCheckpointRequest({
      oldSize: 20n,
      proof: [],
      checkpoint: checkpointOf(tree, 10n),
    });
    expect(w.addCheckpoint(rollback).status).toBe(400);
    expect(w.state.evidence).toEqual([]);
  });

  it("refuses unknown origins (404), bad signatures (403) and malformed requests (400)", async () => {
    const tree = new MemoryTree();
    grow(tree, 3);
    const w = new Witness({ key: witnessKey, logs, now });
    const foreign = signCheckpoint(
      { origin: "other.example/log", size: 3n, root: tree.root(), extensions: [] },
      logKey,
    );
    expect(w.addCheckpoint(await request(tree, 0n, foreign)).status).toBe(404);
    const impostor = generateSignerKey(ORIGIN, seeded(77));
    const forged = signCheckpoint({ origin: ORIGIN, size: 3n, root: tree.root(), extensions: [] }, impostor);
    expect(w.addCheckpoint(await request(tree, 0n, forged)).status).toBe(403);
    expect(w.addCheckpoint("old 01\n\nx").status).toBe(400);
  });

  it("detects a fork: a different root for the cosigned size, or a proof that cannot connect, keeps both notes", async () => {
    const honest = new MemoryTree();
    grow(honest, 8);
    const w = new Witness({ key: witnessKey, logs, now });
    const honestNote = checkpointOf(honest);
    expect(w.addCheckpoint(await request(honest, 0n, honestNote)).status).toBe(200);

    const forked = new MemoryTree();
    grow(forked, 8, 1); // same size, different leaves: a split view signed by the same log key
    const forkNote = checkpointOf(forked);
    const same = w.addCheckpoint(await request(forked, 8n, forkNote));
    expect(same.status).toBe(409);
    grow(forked, 12, 1);
    const inconsistent = w.addCheckpoint(await request(forked, 8n, checkpointOf(forked)));
    expect(inconsistent.status).toBe(422);
    const ev = w.state.evidence;
    expect(ev.map((e) => e.kind)).toEqual(["same_size_conflict", "inconsistent"]);
    expect(ev[0]).toMatchObject({ cosignedNote: honestNote, conflictingNote: forkNote });
    // Both notes in the evidence verify under the log key: a third party can check the fork.
    for (const e of ev) {
      openCheckpoint(e.cosignedNote, verifierOf(logKey));
      openCheckpoint(e.conflictingNote, verifierOf(logKey));
    }
    // It still refuses to move: its state is the honest checkpoint.
    expect(w.state.logs[ORIGIN]?.note).toBe(honestNote);
  });

  it("keeps identical evidence once, and at most MAX_EVIDENCE entries however much is posted", async () => {
    const honest = new MemoryTree();
    grow(honest, 8);
    const w = new Witness({ key: witnessKey, logs, now });
    expect(w.addCheckpoint(await request(honest, 0n, checkpointOf(honest))).status).toBe(200);
    const forked = new MemoryTree();
    grow(forked, 8, 1);
    const body = await request(forked, 8n, checkpointOf(forked));
    for (let i = 0; i < 50; i++) expect(w.addCheckpoint(body).status).toBe(409);
    expect(w.state.evidence).toHaveLength(1);
    // Distinct conflicting checkpoints (every salt gives another root): stored up to the cap, then counted.
    for (let salt = 2; salt < MAX_EVIDENCE + 20; salt++) {
      const other = new MemoryTree();
      grow(other, 8, salt);
      expect(w.addCheckpoint(await request(other, 8n, checkpointOf(other))).status).toBe(409);
    }
    expect(w.state.evidence).toHaveLength(MAX_EVIDENCE);
    expect(w.state.evidenceDropped).toBe(1 + MAX_EVIDENCE + 20 - 2 - MAX_EVIDENCE);
    expect(JSON.stringify(w.state).length).toBeLessThan(MAX_EVIDENCE * 2 * 4096);
  });

  it("restores from its saved state and keeps refusing rollback", async () => {
    const tree = new MemoryTree();
    grow(tree, 9);
    const w = new Witness({ key: witnessKey, logs, now });
    w.addCheckpoint(await request(tree, 0n, checkpointOf(tree)));
    const restored = new Witness({ key: witnessKey, logs, now, state: JSON.parse(JSON.stringify(w.state)) });
    expect(restored.addCheckpoint(await request(tree, 0n, checkpointOf(tree, 4n)))).toMatchObject({
      status: 409,
      body: "9\n",
    });
    expect(restored.addCheckpoint(await request(tree, 9n, checkpointOf(tree))).status).toBe(200);
  });
});
