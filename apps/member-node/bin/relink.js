#!/usr/bin/env node
/**
 * The `relink` command (package.json "bin"). Plain JavaScript on purpose: it turns on Node's module compile
 * cache (`module.enableCompileCache`; in Node 24 it also keeps the type-stripped output of .ts files)
 * *before* any TypeScript is loaded, so a warm start takes every module — ours without their types, and
 * the dependencies — from the cache: no type stripping (Node's amaro WebAssembly is not even loaded) and no
 * recompilation. Figures in docs/benchmarks.md ("receipt"); `src/cli.ts` run directly stays uncached.
 *
 * The cache holds code this process runs, so only the user may write it: a directory of our own under the OS
 * temp dir, `relink-compile-cache-<uid>`, created 0700 and used only if it is a real directory (not a
 * link) owned by us with no group or other permission — a directory someone else made there (a squat) or
 * one with wider modes is ignored and the command runs uncached. `RELINK_COMPILE_CACHE=<dir>` picks another
 * directory (same checks), `RELINK_COMPILE_CACHE=off` turns the cache off. Stale entries are harmless: Node
 * keys them by file name and content hash.
 */
import { lstatSync, mkdirSync } from "node:fs";
import module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

function compileCacheDir() {
  const setting = process.env.RELINK_COMPILE_CACHE;
  if (setting === "off" || setting === "0") return undefined;
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  const dir = setting || join(tmpdir(), `relink-compile-cache-${uid ?? "user"}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return undefined;
    if (uid !== undefined && (st.uid !== uid || (st.mode & 0o077) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

const dir = compileCacheDir();
if (dir !== undefined) module.enableCompileCache?.(dir);
const { run } = await import("../src/cli.ts");
await run(process.argv);
