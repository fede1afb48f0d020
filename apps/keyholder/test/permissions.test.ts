/** A key holder's data directory (identity keys, key share, usage ledger) is owner-only, by stat (#15.5). */
import { lstatSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { IDENTITY_FILE, initIdentity } from "../src/identity.ts";

const root = mkdtempSync(join(tmpdir(), "relink-holder-perm-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it("initIdentity makes the data directory 0700 (even if it existed 0755) and the identity file 0600", () => {
  const dataDir = join(root, "holder");
  mkdirSync(dataDir, { mode: 0o755 });
  initIdentity(dataDir, 1);
  expect(lstatSync(dataDir).mode & 0o777).toBe(0o700);
  expect(lstatSync(join(dataDir, IDENTITY_FILE)).mode & 0o777).toBe(0o600);
});
