import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { checkDependencies } from "./check-deps.ts";

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), "relink-deps-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const manifest = (deps: string[] = []) =>
  JSON.stringify({ dependencies: Object.fromEntries(deps.map((d) => [d, "*"])) });

it("accepts the allowed layering", () => {
  const dir = tree({
    "packages/psi/package.json": manifest(["@noble/curves"]),
    "packages/psi/src/index.ts": 'import { ristretto255 } from "@noble/curves/ed25519.js";\n',
    "packages/core/package.json": manifest(["@relink/db", "@relink/psi"]),
    "packages/core/src/index.ts":
      'import { createDb } from "@relink/db";\nimport type { X } from "@relink/psi";\n',
    "packages/api/package.json": manifest(["@relink/core"]),
    "packages/api/src/index.ts": 'export { x } from "@relink/core";\n',
  });
  expect(checkDependencies(dir)).toEqual([]);
});

it("fails on a planted wrong import in a crypto leaf, in api, and in a manifest", () => {
  const dir = tree({
    "packages/psi/package.json": manifest(),
    "packages/psi/src/index.ts": 'import { x } from "./ok.ts";\nimport { createDb } from "@relink/db";\n',
    "packages/psi/src/ok.ts": "export const x = 1;\n",
    "packages/api/package.json": manifest(["@relink/db"]),
    "packages/api/src/router.ts": 'const m = await import("@relink/db");\n',
  });
  const v = checkDependencies(dir);
  expect(v).toContainEqual({
    file: "packages/psi/src/index.ts",
    line: 2,
    message: "psi must not depend on @relink/db",
  });
  expect(v).toContainEqual({
    file: "packages/api/package.json",
    line: 0,
    message: "api must not depend on @relink/db",
  });
  expect(v).toContainEqual({
    file: "packages/api/src/router.ts",
    line: 1,
    message: "api must not depend on @relink/db",
  });
});

it("keeps I/O, the environment and escaping relative imports out of leaves", () => {
  const dir = tree({
    "packages/tlog/package.json": manifest(),
    "packages/tlog/src/a.ts": 'import { readFileSync } from "node:fs";\nconst k = process.env.KEY;\n',
    "packages/tlog/src/b.ts": 'import { y } from "../../db/src/index.ts";\n',
  });
  const messages = checkDependencies(dir).map((v) => v.message);
  expect(messages).toContain("crypto leaf tlog must not import I/O module 'node:fs'");
  expect(messages).toContain("crypto leaf tlog must not read process.env");
  expect(messages).toContain("relative import '../../db/src/index.ts' leaves packages/tlog");
});

it("names a package the rules do not know", () => {
  const dir = tree({ "packages/mystery/package.json": manifest() });
  expect(checkDependencies(dir).map((v) => v.message)).toEqual([
    "unknown package 'mystery': add it to ALLOWED",
  ]);
});
