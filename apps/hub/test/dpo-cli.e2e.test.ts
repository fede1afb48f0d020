/**
 * The DPO's command line against a running hub (ADRs 0041, 0042): `relink dpo consent-replay` and
 * `relink dpo export`, then the export pack's own verifier (verify.mjs, Node built-ins only) run as a
 * regulator would: an intact pack passes; a pack altered after export — a changed file, a manifest
 * re-hashed to match, a manifest re-signed by someone else, even a leaf changed and re-signed by the DPO's
 * own key — fails loudly with the reason.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { registerDpoKey } from "@relink/core";
import { seededBytes } from "@relink/core/testing";
import { fromHex, toBase64Url } from "@relink/protocol";
import { base64Decode, base64Encode, formatVerifierKey, generateSignerKey, verifierOf } from "@relink/tlog";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningHub } from "../src/hub.ts";
import { onboardHubMember, relinkCli, signedTestConsent, startTestHub, trpcCall } from "./helpers.ts";

const T = (n: number) => sha256(new TextEncoder().encode(`dpo-cli-subject-${n}`));
const enc = new TextEncoder();

/** The CLI as a process (its status and output under the names this file's assertions use). */
async function relink(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = await relinkCli(args);
  return { status: r.code, stdout: r.out, stderr: r.err };
}
function verifyPack(dir: string, ...args: string[]) {
  return spawnSync(process.execPath, ["verify.mjs", ...args], { cwd: dir, encoding: "utf8" });
}

describe("relink dpo consent-replay and export, and the export pack's verifier", () => {
  const dir = mkdtempSync(join(tmpdir(), "relink-dpo-cli-"));
  const home = join(dir, "home");
  const dpoKeyFile = join(dir, "dpo.key");
  const logSigner = generateSignerKey("relink.test/dpo-cli/v1", seededBytes(9100));
  const logVkey = formatVerifierKey(verifierOf(logSigner));
  let hub: RunningHub;
  let memberSecret: Uint8Array;
  let dpoPublicKey: string;
  let lookupIndex = 0;

  const call = (procedure: string, input: unknown) =>
    trpcCall<{ receipt: { index: number } }>(hub, memberSecret, procedure, input);
  let memberId = "";
  /** A consent record signed by the member (consent attestation, ADR 0045), as the SDK sends it. */
  const consent = (n: number) =>
    signedTestConsent(memberSecret, memberId, {
      reference: `LN-${n}#1`,
      tag: T(n),
      evidence: `evidence-${n}`,
      caseId: `case-${n}`,
    });

  beforeAll(async () => {
    ({ hub } = await startTestHub("pglite", { signer: logSigner }));
    const init = await relink("init", "--hub", hub.url, "--home", home, "--log-key", logVkey);
    expect(init.status, init.stderr).toBe(0);
    const { signingPublicKey } = JSON.parse(init.stdout) as { signingPublicKey: string };
    memberSecret = fromHex(
      (JSON.parse(readFileSync(join(home, "member.json"), "utf8")) as { signingSecretKey: string })
        .signingSecretKey,
    );
    memberId = await onboardHubMember(hub, memberSecret, {
      slug: "east-bank",
      displayName: "East Bank",
      capabilities: ["lender", "collector"],
      signingPublicKey,
    });
    const keygen = await relink("dpo", "keygen", "--out", dpoKeyFile);
    expect(keygen.status, keygen.stderr).toBe(0);
    dpoPublicKey = (JSON.parse(keygen.stdout) as { dpoPublicKey: string }).dpoPublicKey;
    await registerDpoKey(hub.core!, "east-bank", dpoPublicKey);
    await call("consent.register", { consents: [consent(1), consent(2)] });
    const r = await call("lookup.run", {
      epoch: 1,
      purpose: "debt_collection",
      tags: [1, 2, 3].map((n) => toBase64Url(T(n))),
      caseCommitment: toBase64Url(sha256(enc.encode("case-9"))),
    });
    lookupIndex = r.receipt.index;
    // After the query: LN-1 is revoked and LN-3 registered.
    await call("consent.revoke", { references: ["LN-1#1"] });
    await call("consent.register", { consents: [consent(3)] });
  });

  afterAll(async () => {
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("consent-replay answers from the log, with the receipt verified", async () => {
    const r = await relink(
      "dpo",
      "consent-replay",
      String(lookupIndex),
      "--home",
      home,
      "--dpo-key",
      dpoKeyFile,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /lookup by east-bank at .* UTC\+8, purpose debt_collection; 2 of 3 subject\(s\) covered/,
    );
    expect(r.stdout).toMatch(/LN-1#1 .*revoked .*COVERED at query time/);
    expect(r.stdout).toMatch(/LN-3#1 .*not covered \(registered_after\)/);
    // Only a DPO key opens it: the member's own request-signing key is not one.
    writeFileSync(join(dir, "member.key"), Buffer.from(memberSecret).toString("hex"));
    const refused = await relink(
      "dpo",
      "consent-replay",
      String(lookupIndex),
      "--home",
      home,
      "--dpo-key",
      join(dir, "member.key"),
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/UNKNOWN_KEY/);
  });

  it("exports a signed pack that its shipped verifier accepts, and rejects every alteration", async () => {
    const pack = join(dir, "pack");
    const out = await relink(
      "dpo",
      "export",
      "--from",
      "0",
      "--pipia",
      "PIPIA-2026-07",
      "--out",
      pack,
      "--home",
      home,
      "--dpo-key",
      dpoKeyFile,
    );
    expect(out.status, out.stderr).toBe(0);
    const pinned = ["--signer-key", dpoPublicKey, "--log-key", logVkey];
    const ok = verifyPack(pack, ...pinned);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/EXPORT PACK OK: \d+ leaves .* 3 consent record\(s\).*PIPIA PIPIA-2026-07/);

    const altered = (name: string, change: (p: string) => void) => {
      const p = join(dir, name);
      cpSync(pack, p, { recursive: true });
      change(p);
      const r = verifyPack(p, ...pinned);
      expect(r.status, `${name}: ${r.stdout}`).toBe(1);
      return r.stderr;
    };
    const editSlice = (p: string, f: (s: Record<string, unknown>) => void) => {
      const s = JSON.parse(readFileSync(join(p, "slice.json"), "utf8"));
      f(s);
      writeFileSync(join(p, "slice.json"), JSON.stringify(s, null, 2));
    };
    const rewriteManifest = (p: string, signer?: Uint8Array) => {
      const m = JSON.parse(readFileSync(join(p, "manifest.json"), "utf8"));
      for (const f of m.files) {
        f.sha256 = Buffer.from(sha256(readFileSync(join(p, f.path)))).toString("hex");
      }
      const bytes = enc.encode(JSON.stringify(m));
      writeFileSync(join(p, "manifest.json"), bytes);
      if (signer)
        writeFileSync(join(p, "manifest.sig"), Buffer.from(ed25519.sign(bytes, signer)).toString("base64"));
    };
    const changeConsent = (s: Record<string, unknown>) => {
      (s.consents as { reference: string }[])[0]!.reference = "FORGED#1";
    };
    // A changed file.
    expect(altered("changed-file", (p) => editSlice(p, changeConsent))).toMatch(
      /EXPORT PACK REJECTED: slice\.json: SHA-256 .* differs/,
    );
    // The manifest re-hashed to match (not re-signed).
    expect(
      altered("rehashed", (p) => {
        editSlice(p, changeConsent);
        rewriteManifest(p);
      }),
    ).toMatch(/EXPORT PACK REJECTED: manifest signature invalid/);
    // Re-signed by another key while the regulator pins the DPO's.
    expect(
      altered("resigned", (p) => {
        editSlice(p, changeConsent);
        rewriteManifest(p, seededBytes(9199)(32));
      }),
    ).toMatch(/manifest signature invalid/);
    // A leaf changed and everything re-signed with the DPO's own key: the log's proofs still catch it.
    const dpoSecret = fromHex(readFileSync(dpoKeyFile, "utf8").trim());
    expect(
      altered("leaf", (p) => {
        editSlice(p, (s) => {
          const leaves = s.leaves as { index: number; leaf: string }[];
          const l = leaves.find((x) => x.index === lookupIndex)!;
          const bytes = base64Decode(l.leaf)!;
          bytes[bytes.length - 1]! ^= 1;
          l.leaf = base64Encode(bytes);
        });
        rewriteManifest(p, dpoSecret);
      }),
    ).toMatch(new RegExp(`EXPORT PACK REJECTED: leaf ${lookupIndex}: inclusion proof invalid`));
    // A leaf dropped from the pack and a consent removed: the consent a leaf lists must be there.
    expect(
      altered("consent-dropped", (p) => {
        editSlice(p, (s) => {
          s.consents = (s.consents as unknown[]).slice(1);
        });
        rewriteManifest(p, dpoSecret);
      }),
    ).toMatch(/consent .* not in the pack/);
    // The checkpoint swapped for one the log never signed.
    expect(
      altered("checkpoint", (p) => {
        editSlice(p, (s) => {
          s.checkpoint = (s.checkpoint as string).replace(/\n(\d+)\n/, (_m, n) => `\n${Number(n) + 1}\n`);
        });
        rewriteManifest(p, dpoSecret);
      }),
    ).toMatch(/checkpoint: log signature invalid/);
  });
});
