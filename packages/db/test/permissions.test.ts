/**
 * Issue #15.5: a PGlite data directory is the hub's whole database; other local users must not read it.
 * PGlite's file system creates files 0666 whatever the umask, so createDb makes the directory 0700 before
 * PGlite writes into it and tightens every file to 0600 (and directory to 0700) on open and on close.
 * Checked by stat, for a directory that already existed world-readable too.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "../src/client.ts";

function modes(dir: string): { path: string; mode: number; dir: boolean }[] {
  const out: { path: string; mode: number; dir: boolean }[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    out.push({ path: p, mode: st.mode & 0o777, dir: st.isDirectory() });
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return out;
}

describe("PGlite data directory permissions", () => {
  const root = mkdtempSync(join(tmpdir(), "relink-perm-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("is 0700 while open, and every file 0600 / directory 0700 after open and after close", async () => {
    const dataDir = join(root, "db");
    mkdirSync(dataDir, { mode: 0o755 }); // as a careless deployment script might have left it
    const handle = await createDb({ kind: "pglite", dataDir });
    try {
      expect(lstatSync(dataDir).mode & 0o777).toBe(0o700);
      const opened = modes(dataDir);
      expect(opened.length).toBeGreaterThan(100);
      expect(opened.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))).toEqual([]);
      // New relations make new files while it runs: inside a 0700 directory, then tightened on close.
      await sql`create table t (x int)`.execute(handle.db);
      await sql`insert into t select generate_series(1, 1000)`.execute(handle.db);
    } finally {
      await handle.close();
    }
    const closed = modes(dataDir);
    expect(closed.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))).toEqual([]);
    // Reopening an existing directory keeps it that way.
    const again = await createDb({ kind: "pglite", dataDir });
    await again.close();
    expect(modes(dataDir).filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))).toEqual([]);
  });
});
