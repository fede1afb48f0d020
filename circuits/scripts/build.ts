/**
 * Builds the consent-membership artifacts from the circom source and the committed development
 * powers-of-tau (circuits/ptau/), deterministically:
 *   1. check the phase-1 ptau's SHA-256 against circuits/ptau/ptau.json (never regenerate it: see the
 *      runbook), prepare its phase 2 (deterministic; cached in circuits/build/, hash-checked too);
 *   2. compile circuits/src/main.circom with circom2 (circom 2.2.3 in WebAssembly), --O2;
 *   3. Groth16 phase 2: `zkey new`, then `zkey beacon` with the fixed public beacon below — a development
 *      key whose toxic waste anyone can recompute; production runs the ceremony of
 *      docs/runbooks/zk-ceremony.md instead and commits its result;
 *   4. export the verification key; gzip wasm and zkey into packages/zk/artifacts/ and write
 *      packages/zk/src/manifest.generated.ts (SHA-256 of each, the vkey and its hash).
 * `--check` rebuilds in a temporary directory and fails unless every hash equals the committed manifest.
 * Usage: npm run build -w circuits [-- --check]
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const here = join(import.meta.dirname, "..");
const root = join(here, "..");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);
const zkDir = join(root, "packages", "zk");

/** Public, fixed beacon for the development phase 2 (its only job is determinism). */
export const DEV_BEACON = {
  hash: "72656c696e6b2064657620636f6e73656e742d6d656d62657273686970207631", // "relink dev consent-membership v1"
  iterationsExp: 10,
  name: "relink development beacon (NOT a ceremony)",
} as const;

interface PtauPin {
  file: string;
  sha256: string;
  power: number;
  prepared: { file: string; sha256: string };
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function run(cmd: string, args: string[], cwd = root): void {
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "ignore", "inherit"] });
}

export function build(outDir: string): Record<string, unknown> {
  const pin = JSON.parse(readFileSync(join(here, "ptau", "ptau.json"), "utf8")) as PtauPin;
  const phase1 = join(here, "ptau", pin.file);
  const got = sha256File(phase1);
  if (got !== pin.sha256) throw new Error(`ptau ${pin.file}: SHA-256 ${got}, pinned ${pin.sha256}`);
  mkdirSync(outDir, { recursive: true });
  // `prepare phase2` is deterministic but slow (minutes at power 13 on a loaded 2-core machine), and its
  // output is 3× the committed file: it is cached in circuits/build/ and checked against its pinned hash.
  const cacheDir = join(here, "build");
  mkdirSync(cacheDir, { recursive: true });
  const ptau = join(cacheDir, pin.prepared.file);
  if (!existsSync(ptau) || sha256File(ptau) !== pin.prepared.sha256) {
    console.log("circuits: preparing phase 2 of the committed powers-of-tau (a few minutes)…");
    run(bin("snarkjs"), ["powersoftau", "prepare", "phase2", phase1, ptau]);
    const prepared = sha256File(ptau);
    if (prepared !== pin.prepared.sha256) {
      throw new Error(`prepared ptau: SHA-256 ${prepared}, pinned ${pin.prepared.sha256}`);
    }
  }
  run(bin("circom2"), [
    join(here, "src", "main.circom"),
    "--r1cs",
    "--wasm",
    "--O2",
    "-l",
    join(root, "node_modules"),
    "-o",
    outDir,
  ]);
  const r1cs = join(outDir, "main.r1cs");
  const zkey0 = join(outDir, "main_0000.zkey");
  const zkey = join(outDir, "consent_membership.zkey");
  run(bin("snarkjs"), ["groth16", "setup", r1cs, ptau, zkey0]);
  run(bin("snarkjs"), [
    "zkey",
    "beacon",
    zkey0,
    zkey,
    DEV_BEACON.hash,
    String(DEV_BEACON.iterationsExp),
    `-n=${DEV_BEACON.name}`,
  ]);
  const vkeyPath = join(outDir, "consent_membership.vkey.json");
  run(bin("snarkjs"), ["zkey", "export", "verificationkey", zkey, vkeyPath]);
  const wasm = join(outDir, "main_js", "main.wasm");
  const vkey = JSON.parse(readFileSync(vkeyPath, "utf8")) as Record<string, unknown>;
  const info = execFileSync(bin("snarkjs"), ["r1cs", "info", r1cs], { cwd: root, encoding: "utf8" });
  const constraints = Number(/# of Constraints:\s*(\d+)/.exec(info)?.[1]);
  return {
    circuit: "consent-membership",
    version: 2,
    arity: 4,
    depth: 10,
    constraints,
    publicSignals: ["root", "tagHi", "tagLo", "scope", "queryTime"],
    compiler: "circom 2.2.3 (npm circom2 0.2.23), --O2",
    ptau: { file: pin.file, sha256: pin.sha256, power: pin.power },
    phase2: { kind: "development", beacon: DEV_BEACON },
    wasm: {
      file: "consent_membership.wasm",
      sha256: sha256File(wasm),
      bytes: statSync(wasm).size,
      path: wasm,
    },
    zkey: {
      file: "consent_membership.zkey",
      sha256: sha256File(zkey),
      bytes: statSync(zkey).size,
      path: zkey,
    },
    vkey,
  };
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function manifestParts(m: Record<string, unknown>): { manifest: unknown; vkey: unknown } {
  const { vkey, wasm, zkey, ...rest } = m as {
    vkey: unknown;
    wasm: { path: string };
    zkey: { path: string };
  };
  const strip = ({ path: _p, ...a }: { path: string }) => a;
  const manifest = {
    ...rest,
    wasm: strip(wasm),
    zkey: strip(zkey),
    vkeySha256: createHash("sha256").update(canonicalJson(vkey)).digest("hex"),
  };
  return { manifest, vkey };
}

function manifestSource(m: Record<string, unknown>): string {
  const { manifest, vkey } = manifestParts(m);
  return `// Generated by circuits/scripts/build.ts — do not edit. Rebuild with \`npm run build -w circuits\`.
export const MANIFEST = ${JSON.stringify(manifest, null, 2)} as const;

export const VERIFICATION_KEY = ${JSON.stringify(vkey, null, 2)};
`;
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  const outDir = check ? mkdtempSync(join(tmpdir(), "relink-circuits-")) : join(here, "build");
  try {
    const m = build(outDir);
    const target = join(zkDir, "src", "manifest.generated.ts");
    if (check) {
      // Compare content, not text (the file is formatted by biome after it is written).
      const committed = (await import(pathToFileURL(target).href)) as {
        MANIFEST: unknown;
        VERIFICATION_KEY: unknown;
      };
      const rebuilt = manifestParts(m);
      if (
        canonicalJson({ m: committed.MANIFEST, v: committed.VERIFICATION_KEY }) !==
        canonicalJson({ m: rebuilt.manifest, v: rebuilt.vkey })
      ) {
        console.error("circuits: the rebuilt artifacts differ from packages/zk/src/manifest.generated.ts");
        process.exit(1);
      }
      console.log("circuits: rebuilt artifacts match the committed manifest");
    } else {
      mkdirSync(join(zkDir, "artifacts"), { recursive: true });
      const { wasm, zkey } = m as {
        wasm: { path: string; file: string };
        zkey: { path: string; file: string };
      };
      // Stored gzipped (2.8 + 3.7 MB → 1.0 + 2.5 MB); the manifest's SHA-256 is over the unzipped bytes.
      for (const a of [wasm, zkey]) {
        writeFileSync(join(zkDir, "artifacts", `${a.file}.gz`), gzipSync(readFileSync(a.path), { level: 9 }));
      }
      writeFileSync(target, manifestSource(m));
      run(bin("biome"), ["format", "--write", target]);
      console.log(`circuits: wrote packages/zk/artifacts and ${target}`);
    }
  } finally {
    if (check) rmSync(outDir, { recursive: true, force: true });
  }
}
