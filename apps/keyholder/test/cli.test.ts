/** The key holder's command line: --help never starts it; usage errors exit 2, failures 1, never a stack. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";

const main = join(import.meta.dirname, "../src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "relink-keyholder-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: "utf8" });

it("--help prints the usage and starts nothing, even after a command", () => {
  for (const args of [
    ["--help"],
    ["-h"],
    ["serve", "--help"],
    ["init", "--data-dir", join(dir, "x"), "--help"],
  ]) {
    const r = run(args);
    expect(r.status, args.join(" ")).toBe(0);
    expect(r.stdout).toMatch(/relink-keyholder serve --data-dir DIR/);
  }
  expect(existsSync(join(dir, "x"))).toBe(false);
});

it("usage errors exit 2; a failure (identity exists) exits 1; no stack trace", () => {
  expect(run([]).status).toBe(2);
  expect(run(["init"]).status).toBe(2);
  expect(run(["frobnicate", "--data-dir", dir]).status).toBe(2);
  const d = join(dir, "h1");
  expect(run(["init", "--data-dir", d, "--index", "1"]).status).toBe(0);
  const again = run(["init", "--data-dir", d, "--index", "1"]);
  expect(again.status).toBe(1);
  expect(again.stderr).toMatch(/already exists/);
  expect(again.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
});

it("serve --help with a full command line prints the usage and serves nothing (commander, issue 14)", () => {
  const d = join(dir, "never");
  const r = run([
    "serve",
    "--data-dir",
    d,
    "--network",
    "n.json",
    "--port",
    "0",
    "--hub",
    "http://h",
    "--help",
  ]);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/Usage: relink-keyholder serve/);
  expect(r.stdout).toMatch(/--dkg-timeout <seconds>/);
  expect(r.stderr).not.toMatch(/serving on/);
  expect(existsSync(d)).toBe(false);
});

it("bad option values are usage errors naming the option (exit 2)", () => {
  const base = ["serve", "--data-dir", join(dir, "never"), "--network", "n.json", "--hub", "http://h"];
  const port = run([...base, "--port", "abc"]);
  expect(port.status).toBe(2);
  expect(port.stderr).toMatch(/--port <port>.*expected an integer ≥ 0/);
  const hub = run([
    "serve",
    "--data-dir",
    join(dir, "never"),
    "--network",
    "n.json",
    "--port",
    "0",
    "--hub",
    "nope",
  ]);
  expect(hub.status).toBe(2);
  expect(hub.stderr).toMatch(/--hub <url>.*not a URL/);
  expect(run(["init", "--data-dir", join(dir, "never"), "--index", "0"]).status).toBe(2);
  expect(existsSync(join(dir, "never"))).toBe(false);
});
