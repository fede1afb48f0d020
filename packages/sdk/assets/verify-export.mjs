#!/usr/bin/env node
// Relink regulator export pack verifier (relink-export-pack/v1). Independent of Relink's code: Node
// built-ins only (node:crypto Ed25519 and SHA-256, node:fs). Run inside the unpacked pack:
//
//   node verify.mjs [--signer-key <base64 Ed25519 public key>] [--log-key <name+id+key>] [--witness <vkey>]…
//
// Pin the exporting DPO's key and the log's key you obtained out of band; without them the keys named in
// the manifest are used (and this is said). Checks, in order, and stops at the first failure (exit 1):
//  1. manifest.sig is an Ed25519 signature (RFC 8032) over the exact bytes of manifest.json;
//  2. every file listed has the SHA-256 the manifest states, and no listed file is missing;
//  3. the checkpoint is a C2SP signed note with a valid signature by the log key; with --witness, each
//     named witness's cosignature (C2SP tlog-cosignature) verifies;
//  4. every leaf's RFC 9162 inclusion proof (§2.1.3.2) leads to the checkpoint's root;
//  5. every earlier checkpoint is signed by the log and consistent (§2.1.4.2) with the checkpoint;
//  6. every leaf names a member listed in the pack, every consent id a leaf lists is in the pack;
//  7. the export's own receipt: its leaf is a dpo.export event included under a signed checkpoint.
import { createHash, createPublicKey, verify as edVerify } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.cwd();
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const witnesses = args.flatMap((a, i) => (a === "--witness" ? [args[i + 1]] : []));

class Rejected extends Error {}
const fail = (why) => {
  throw new Rejected(why);
};
const sha256 = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const b64 = (s, what) => {
  if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) fail(`${what}: not base64`);
  return new Uint8Array(Buffer.from(s, "base64"));
};
const b64url = (s, what) => {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]+$/.test(s)) fail(`${what}: not base64url`);
  return new Uint8Array(Buffer.from(s, "base64url"));
};
const hex = (b) => Buffer.from(b).toString("hex");
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");
function ed25519Verify(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: "der", type: "spki" });
  return edVerify(null, message, key, signature);
}

// ----------------------------------------------------------------------------------- C2SP signed notes
function parseVkey(text, type) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text ?? "");
  if (!m) fail(`verifier key '${text}': expected name+keyid+base64`);
  const raw = b64(m[3], "verifier key");
  if (raw.length !== 33 || raw[0] !== type) fail(`verifier key '${m[1]}': wrong type or length`);
  const pk = raw.slice(1);
  const id = sha256(Buffer.from(m[1], "utf8"), Uint8Array.of(0x0a, type), pk).slice(0, 4);
  if (hex(id) !== m[2]) fail(`verifier key '${m[1]}': key ID does not match`);
  return { name: m[1], id, pk };
}
function openNote(note, logKey, what) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) fail(`${what}: not a signed note`);
  const text = note.slice(0, split + 1);
  const sigs = note
    .slice(split + 2)
    .split("\n")
    .filter(Boolean);
  let signed = false;
  for (const line of sigs) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) fail(`${what}: malformed signature line`);
    const bytes = b64(m[2], `${what} signature`);
    if (m[1] === logKey.name && eq(bytes.slice(0, 4), logKey.id)) {
      if (!ed25519Verify(logKey.pk, Buffer.from(text, "utf8"), bytes.slice(4)))
        fail(`${what}: log signature invalid`);
      signed = true;
    }
  }
  if (!signed) fail(`${what}: no signature by the log key ${logKey.name}`);
  const lines = text.split("\n");
  const size = /^(0|[1-9][0-9]*)$/.test(lines[1] ?? "") ? BigInt(lines[1]) : fail(`${what}: bad size line`);
  const root = b64(lines[2], `${what} root`);
  if (root.length !== 32) fail(`${what}: root is not 32 bytes`);
  return { origin: lines[0], size, root, text, sigs };
}
function checkCosignatures(cp, what) {
  for (const w of witnesses) {
    const key = parseVkey(w, 0x04);
    const line = cp.sigs.find((l) => l.startsWith(`\u2014 ${key.name} `));
    if (!line) fail(`${what}: no cosignature by witness ${key.name}`);
    const bytes = b64(line.split(" ")[2], `${what} cosignature`);
    if (bytes.length !== 76 || !eq(bytes.slice(0, 4), key.id))
      fail(`${what}: cosignature of ${key.name} malformed`);
    const ts = new DataView(bytes.buffer, bytes.byteOffset + 4, 8).getBigUint64(0);
    const msg = Buffer.from(`cosignature/v1\ntime ${ts}\n${cp.text}`, "utf8");
    if (!ed25519Verify(key.pk, msg, bytes.slice(12))) fail(`${what}: cosignature of ${key.name} invalid`);
  }
}

// ------------------------------------------------------------------------------------------ RFC 9162
const node = (l, r) => sha256(Uint8Array.of(1), l, r);
const leafHash = (leaf) => sha256(Uint8Array.of(0), leaf);
function verifyInclusion(index, size, hash, proof, root) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1n;
  let r = hash;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = node(p, r);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else r = node(r, p);
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  return sn === 0n && eq(r, root);
}
function verifyConsistency(first, second, proof, firstRoot, secondRoot) {
  if (first < 1n || first > second) return false;
  if (first === second) return proof.length === 0 && eq(firstRoot, secondRoot);
  const path = (first & (first - 1n)) === 0n ? [firstRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) [fn, sn] = [fn >> 1n, sn >> 1n];
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else sr = node(sr, c);
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  return sn === 0n && eq(fr, firstRoot) && eq(sr, secondRoot);
}

// ------------------------------------------------------------------------ audit leaves (RLAE v1 fields)
/** EVENT_TYPES["dpo.export"] in packages/tlog/src/leaf.ts (test/export-pack-codes.test.ts keeps them equal). */
const DPO_EXPORT_EVENT = 17;
function leafFields(leaf, what) {
  if (leaf.length < 15 || hex(leaf.slice(0, 5)) !== "524c414501") fail(`${what}: not an RLAE v1 leaf`);
  const dv = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength);
  const out = { type: dv.getUint16(5), member: undefined, consentIds: [] };
  let o = 15;
  while (o < leaf.length) {
    if (o + 4 > leaf.length) fail(`${what}: truncated field`);
    const tag = dv.getUint16(o);
    const len = dv.getUint16(o + 2);
    const v = leaf.slice(o + 4, o + 4 + len);
    if (v.length !== len) fail(`${what}: truncated field`);
    if (tag === 1) {
      const h = hex(v);
      out.member = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    if (tag === 8) {
      for (let i = 0; i < v.length; i += 1 + v[i]) {
        const ref = hex(v.slice(i + 1, i + 1 + v[i]));
        if (ref.length === 32)
          out.consentIds.push(
            `${ref.slice(0, 8)}-${ref.slice(8, 12)}-${ref.slice(12, 16)}-${ref.slice(16, 20)}-${ref.slice(20)}`,
          );
      }
    }
    o += 4 + len;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- main
function main() {
  const manifestBytes = readFileSync(join(dir, "manifest.json"));
  const manifest = JSON.parse(manifestBytes.toString("utf8"));
  if (manifest.format !== "relink-export-pack/v1") fail("manifest: unsupported format");
  const signerText = opt("--signer-key") ?? manifest.signerPublicKey;
  if (!opt("--signer-key"))
    console.log("note: signer key taken from the manifest (pin it with --signer-key)");
  const sig = b64(readFileSync(join(dir, "manifest.sig"), "utf8").trim(), "manifest.sig");
  if (!ed25519Verify(b64url(signerText, "signer key"), manifestBytes, sig))
    fail("manifest signature invalid");
  for (const f of manifest.files ?? []) {
    if (typeof f.path !== "string" || f.path.includes("/") || f.path.includes("\\"))
      fail(`manifest: bad path`);
    if (!existsSync(join(dir, f.path))) fail(`${f.path}: missing`);
    const digest = hex(sha256(readFileSync(join(dir, f.path))));
    if (digest !== f.sha256) fail(`${f.path}: SHA-256 ${digest} differs from the manifest's ${f.sha256}`);
  }
  const logKeyText = opt("--log-key") ?? manifest.logKey;
  if (!opt("--log-key")) console.log("note: log key taken from the manifest (pin it with --log-key)");
  const logKey = parseVkey(logKeyText, 0x01);
  const slice = JSON.parse(readFileSync(join(dir, "slice.json"), "utf8"));
  const cp = openNote(slice.checkpoint, logKey, "checkpoint");
  checkCosignatures(cp, "checkpoint");
  if (cp.size !== BigInt(slice.to)) fail(`checkpoint size ${cp.size} is not the slice end ${slice.to}`);
  const members = new Set((slice.members ?? []).map((m) => m.id));
  const consents = new Set((slice.consents ?? []).map((c) => c.id));
  for (const l of slice.leaves) {
    const what = `leaf ${l.index}`;
    const leaf = b64(l.leaf, what);
    const idx = BigInt(l.index);
    if (idx < BigInt(slice.from) || idx >= cp.size) fail(`${what}: outside the slice`);
    const proof = l.inclusionProof.map((h) => b64(h, `${what} proof`));
    if (proof.some((h) => h.length !== 32)) fail(`${what}: malformed proof`);
    if (!verifyInclusion(idx, cp.size, leafHash(leaf), proof, cp.root))
      fail(`${what}: inclusion proof invalid`);
    const f = leafFields(leaf, what);
    if (f.member && !members.has(f.member)) fail(`${what}: member ${f.member} not in the pack`);
    for (const id of f.consentIds) if (!consents.has(id)) fail(`${what}: consent ${id} not in the pack`);
  }
  for (const [i, h] of (slice.history ?? []).entries()) {
    const old = openNote(h.checkpoint, logKey, `earlier checkpoint ${i}`);
    const proof = h.consistencyProof.map((x) => b64(x, "consistency proof"));
    if (!verifyConsistency(old.size, cp.size, proof, old.root, cp.root))
      fail(`earlier checkpoint ${old.size}: not consistent with ${cp.size}`);
  }
  const r = slice.exportReceipt;
  const rcp = openNote(r.checkpoint, logKey, "export receipt checkpoint");
  const rleaf = b64(r.leaf, "export receipt leaf");
  if (leafFields(rleaf, "export receipt leaf").type !== DPO_EXPORT_EVENT)
    fail("export receipt: not a dpo.export leaf");
  const rproof = r.inclusionProof.map((h) => b64(h, "export receipt proof"));
  if (!verifyInclusion(BigInt(r.index), rcp.size, leafHash(rleaf), rproof, rcp.root))
    fail("export receipt: inclusion proof invalid");
  console.log(
    `EXPORT PACK OK: ${slice.leaves.length} leaves [${slice.from}, ${slice.to}) of ${cp.origin}, ` +
      `${(slice.history ?? []).length} earlier checkpoint(s) consistent, ${consents.size} consent record(s), ` +
      `signed by ${signerText}; PIPIA ${manifest.pipiaReference}`,
  );
}

try {
  main();
} catch (error) {
  console.error(`EXPORT PACK REJECTED: ${error instanceof Rejected ? error.message : String(error)}`);
  process.exitCode = 1;
}
