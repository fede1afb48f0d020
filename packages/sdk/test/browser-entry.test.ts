/**
 * The SDK's browser entries (`@relink/sdk/browser`, `@relink/sdk/browser-exposure`, and the pure `csv`,
 * `columns`, `dpo` and `testing`) never reach a Node-only module: the import graph through the workspace's packages is walked
 * from each entry (type-only imports excluded, as the bundler drops them) and must contain no `node:`
 * built-in and none of the Node-only paths (the consent-proof prover: @relink/zk and snarkjs; psi's worker
 * pool). `@relink/protocol/http` (undici) is the one module a browser bundle substitutes
 * (apps/portal/web/http-shim.ts), so the walk stops there. The portal's webpack config needs no Node
 * built-in stubs because of this.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..", "..", "..");
const SUBSTITUTED = new Set(["@relink/protocol/http"]);
const FORBIDDEN = [/^node:/, /^@relink\/zk(\/|$)/, /^snarkjs$/, /^@relink\/psi\/pool$/, /^undici$/];

function workspaceEntry(spec: string): string | undefined {
  const m = /^@relink\/([^/]+)(\/.*)?$/.exec(spec);
  if (!m) return undefined;
  for (const dir of ["packages", "apps"]) {
    const pkgDir = join(ROOT, dir, m[1]!);
    const pkgFile = join(pkgDir, "package.json");
    if (!existsSync(pkgFile)) continue;
    const exports = (JSON.parse(readFileSync(pkgFile, "utf8")) as { exports: Record<string, string> })
      .exports;
    const target = exports[`.${m[2] ?? ""}`];
    if (!target) throw new Error(`${spec}: not exported by ${pkgFile}`);
    return join(pkgDir, target);
  }
  return undefined;
}

/** Runtime imports of a TypeScript file (static, re-exports and dynamic), type-only ones left out. */
function importsOf(file: string): string[] {
  const src = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(import|export)\s+(type\s+)?([^;]*?)\s+from\s+"([^"]+)"/gms))
    if (!m[2]) out.push(m[4]!);
  for (const m of src.matchAll(/^\s*import\s+"([^"]+)"/gm)) out.push(m[1]!);
  for (const m of src.matchAll(/(typeof\s+)?\bimport\(\s*"([^"]+)"\s*\)/g)) if (!m[1]) out.push(m[2]!);
  return out;
}

/** Every module the entry reaches at run time: workspace files walked, external packages listed. */
function reach(entry: string): { files: Set<string>; external: Map<string, string> } {
  const files = new Set<string>();
  const external = new Map<string, string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of importsOf(file)) {
      if (SUBSTITUTED.has(spec)) continue;
      const target = spec.startsWith(".") ? resolve(dirname(file), spec) : workspaceEntry(spec);
      if (target) todo.push(target);
      else if (!external.has(spec)) external.set(spec, file.slice(ROOT.length + 1));
    }
  }
  return { files, external };
}

describe("the SDK's browser entries", () => {
  for (const entry of ["browser", "browser-exposure", "csv", "columns", "dpo", "testing"]) {
    it(`@relink/sdk/${entry} reaches no Node-only module`, () => {
      const { files, external } = reach(workspaceEntry(`@relink/sdk/${entry}`)!);
      expect(files.size).toBeGreaterThan(["csv", "columns", "dpo", "testing"].includes(entry) ? 0 : 1);
      const bad = [...external].filter(([spec]) => FORBIDDEN.some((f) => f.test(spec)));
      expect(bad.map(([spec, from]) => `${spec} (from ${from})`)).toEqual([]);
    });
  }

  it("the walk sees a Node-only import where there is one (positive control)", () => {
    const { external } = reach(workspaceEntry("@relink/sdk")!);
    expect([...external.keys()].filter((s) => FORBIDDEN.some((f) => f.test(s)))).toContain("node:fs");
  });

  it("the browser exposure entry does reach node-seal (the querier's BFV keys run in the browser)", () => {
    expect(reach(workspaceEntry("@relink/sdk/browser-exposure")!).external.has("node-seal")).toBe(true);
  });
});
