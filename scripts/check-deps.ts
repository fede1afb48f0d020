/**
 * Dependency-direction check (docs/adr/0003-dependency-direction.md).
 * Reads every workspace's package.json and every import in its sources, and reports each edge the
 * layering forbids:
 *  - crypto leaves (identity, psi, he, tlog, zk) import no workspace package and no I/O module;
 *  - protocol and db import no workspace package;
 *  - core may use db, protocol and the leaves; api may use core, protocol and the leaves — never db;
 *  - sdk may use protocol and the leaves (and api for router *types* only);
 *  - nothing imports an app; relative imports never leave their package.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export const LEAVES = ["identity", "psi", "he", "tlog", "zk"] as const;

/** Which workspace packages each package may import; apps and circuits may import any package. */
export const ALLOWED: Record<string, readonly string[]> = {
  identity: [],
  psi: [],
  he: [],
  tlog: [],
  zk: [],
  protocol: [],
  db: [],
  core: ["db", "protocol", ...LEAVES],
  api: ["core", "protocol", ...LEAVES],
  sdk: ["protocol", "api", ...LEAVES],
  // psi's Group on a native addon (ADR 0019): implements psi's interface, loaded only by Node apps.
  "ristretto-native": ["psi"],
};

/** Node built-ins that do I/O or read the environment; forbidden in the pure leaves. */
const IO_MODULES = [
  "fs",
  "fs/promises",
  "net",
  "http",
  "https",
  "http2",
  "tls",
  "dgram",
  "dns",
  "child_process",
];

export interface Violation {
  file: string;
  line: number;
  message: string;
}

const IMPORT_RE =
  /(?:^|[^\w.])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === ".next" || entry.name.startsWith(".")) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

function workspaceName(spec: string): string | undefined {
  const m = /^@relink\/([^/]+)/.exec(spec);
  return m?.[1];
}

export function checkDependencies(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const group of ["packages", "apps"]) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, group)).filter((n) => statSync(join(root, group, n)).isDirectory());
    } catch {
      continue;
    }
    for (const name of names) {
      const pkgDir = join(root, group, name);
      const isPackage = group === "packages";
      const allowed = isPackage ? ALLOWED[name] : undefined;
      if (isPackage && !allowed) {
        violations.push({
          file: relative(root, pkgDir),
          line: 0,
          message: `unknown package '${name}': add it to ALLOWED`,
        });
        continue;
      }
      const leaf = (LEAVES as readonly string[]).includes(name);
      const check = (spec: string, file: string, line: number): void => {
        const target = workspaceName(spec);
        if (target && group === "packages" && target !== name && !allowed?.includes(target)) {
          violations.push({ file, line, message: `${name} must not depend on @relink/${target}` });
        }
        if (target && isPackage && ["hub", "portal", "keyholder", "member-node"].includes(target)) {
          violations.push({ file, line, message: `${name} must not import app '${target}'` });
        }
        const bare = spec.replace(/^node:/, "");
        if (leaf && IO_MODULES.includes(bare)) {
          violations.push({
            file,
            line,
            message: `crypto leaf ${name} must not import I/O module '${spec}'`,
          });
        }
        if (spec.startsWith(".")) {
          const abs = resolve(dirname(join(root, file)), spec);
          if (!(abs + sep).startsWith(pkgDir + sep)) {
            violations.push({ file, line, message: `relative import '${spec}' leaves ${group}/${name}` });
          }
        }
      };
      let manifest: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> } = {};
      try {
        manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
      } catch {
        violations.push({
          file: relative(root, pkgDir),
          line: 0,
          message: "missing or unreadable package.json",
        });
      }
      for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
        check(dep, relative(root, join(pkgDir, "package.json")), 0);
      }
      for (const file of sourceFiles(pkgDir)) {
        const text = readFileSync(file, "utf8");
        const rel = relative(root, file);
        for (const m of text.matchAll(IMPORT_RE)) {
          const spec = m[1] ?? m[2] ?? m[3];
          if (!spec) continue;
          const line = text.slice(0, m.index + m[0].indexOf(spec)).split("\n").length;
          check(spec, rel, line);
        }
        if (leaf && /\bprocess\.env\b/.test(text)) {
          violations.push({ file: rel, line: 0, message: `crypto leaf ${name} must not read process.env` });
        }
      }
    }
  }
  return violations;
}

if (import.meta.main) {
  const root = join(import.meta.dirname, "..");
  const violations = checkDependencies(root);
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.message}`);
  console.log(
    violations.length === 0
      ? "dependency direction: ok"
      : `dependency direction: ${violations.length} violation(s)`,
  );
  process.exit(violations.length === 0 ? 0 : 1);
}
