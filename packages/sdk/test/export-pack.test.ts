/**
 * The export pack builder shared by the CLI and the portal's worker (ADR 0064), and the shipped verifier's
 * one copied constant. The full pack is verified by its own verify.mjs against a real hub in
 * apps/hub/test/dpo-cli.e2e.test.ts (CLI) and apps/portal/test/portal.e2e.test.ts (browser).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type ExportSlice, ed25519SignerFor, toBase64Url } from "@relink/protocol";
import { EVENT_TYPES } from "@relink/tlog";
import { afterAll, describe, expect, it } from "vitest";
import { buildExportPack, tarArchive } from "../src/dpo.ts";

const VERIFIER = readFileSync(join(import.meta.dirname, "../assets/verify-export.mjs"), "utf8");
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const slice = {
  scope: { kind: "member", slug: "east-bank" },
  from: 0,
  to: 3,
  checkpoint: "relink.test/audit-log/v1\n3\nAAAA\n",
  leaves: [],
} as unknown as ExportSlice;
const input = {
  slice,
  pipiaReference: "PIPIA-2026-07",
  logKey: "relink.test+0+key",
  verifierSource: VERIFIER,
  createdAt: new Date("2026-12-03T06:00:00Z"),
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const tmp = mkdtempSync(join(tmpdir(), "relink-pack-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("verify-export.mjs", () => {
  it("knows the dpo.export event code of the leaf registry", () => {
    const m = /const DPO_EXPORT_EVENT = (\d+);/.exec(VERIFIER);
    expect(m, "DPO_EXPORT_EVENT constant").not.toBeNull();
    expect(Number(m![1])).toBe(EVENT_TYPES["dpo.export"]);
  });
});

describe("buildExportPack", () => {
  it("lists every file's SHA-256 in the manifest and signs the manifest's exact bytes", async () => {
    const pack = await buildExportPack({ ...input, signer: ed25519SignerFor(SEED) });
    expect(pack.files.map((f) => f.path)).toEqual([
      "slice.json",
      "pipia.json",
      "verify.mjs",
      "README.txt",
      "manifest.json",
      "manifest.sig",
    ]);
    const file = (p: string) => pack.files.find((f) => f.path === p)!.bytes;
    const manifest = JSON.parse(new TextDecoder().decode(file("manifest.json"))) as {
      signerPublicKey: string;
      files: { path: string; bytes: number; sha256: string }[];
    };
    expect(manifest.signerPublicKey).toBe(toBase64Url(ed25519.getPublicKey(SEED)));
    for (const f of manifest.files) expect(f.sha256, f.path).toBe(hex(sha256(file(f.path))));
    expect(new TextDecoder().decode(file("verify.mjs"))).toBe(VERIFIER);
    const sig = Buffer.from(new TextDecoder().decode(file("manifest.sig")).trim(), "base64");
    expect(ed25519.verify(sig, file("manifest.json"), ed25519.getPublicKey(SEED))).toBe(true);
    // One changed byte of the manifest no longer verifies.
    const altered = file("manifest.json").slice();
    altered[10]! ^= 1;
    expect(ed25519.verify(sig, altered, ed25519.getPublicKey(SEED))).toBe(false);
  });

  it("a non-extractable WebCrypto key (the browser's) signs the same bytes as the CLI's key", async () => {
    const pkcs8 = new Uint8Array([
      0x30,
      0x2e,
      0x02,
      0x01,
      0x00,
      0x30,
      0x05,
      0x06,
      0x03,
      0x2b,
      0x65,
      0x70,
      0x04,
      0x22,
      0x04,
      0x20,
      ...SEED,
    ]);
    const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    const web = await buildExportPack({
      ...input,
      signer: {
        publicKey: ed25519.getPublicKey(SEED),
        sign: async (m) =>
          new Uint8Array(await crypto.subtle.sign("Ed25519", key, m as Uint8Array<ArrayBuffer>)),
      },
    });
    const cli = await buildExportPack({ ...input, signer: ed25519SignerFor(SEED) });
    expect(web.files.map((f) => hex(f.bytes))).toEqual(cli.files.map((f) => hex(f.bytes)));
  });
});

describe("tarArchive", () => {
  it("unpacks with tar(1) into the directory the CLI writes, byte for byte, owner-only", async () => {
    const pack = await buildExportPack({ ...input, signer: ed25519SignerFor(SEED) });
    const archive = tarArchive("relink-export-0-3", pack.files, input.createdAt);
    expect(archive.length % 512).toBe(0);
    const file = join(tmp, "pack.tar");
    writeFileSync(file, archive);
    execFileSync("tar", ["-xf", file, "-C", tmp]);
    const dir = join(tmp, "relink-export-0-3");
    expect(readdirSync(dir).sort()).toEqual(pack.files.map((f) => f.path).sort());
    for (const f of pack.files) {
      expect(hex(readFileSync(join(dir, f.path))), f.path).toBe(hex(f.bytes));
      expect(statSync(join(dir, f.path)).mode & 0o777, f.path).toBe(0o600);
    }
    expect(execFileSync("tar", ["-tvf", file], { encoding: "utf8" })).toContain(
      "relink-export-0-3/manifest.sig",
    );
  });

  it("refuses names that would leave the archive's directory", () => {
    expect(() => tarArchive("../x", [], new Date())).toThrow(/unsafe/);
    expect(() => tarArchive("d", [{ path: "../etc", bytes: new Uint8Array() }], new Date())).toThrow(
      /unsafe/,
    );
  });
});
