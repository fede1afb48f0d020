/**
 * The exposure commands and home storage without a hub: command wiring and options, rejected rows, the
 * daemon's log lines (counts only), the mask key and the 24 h HE secret-key store.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  fileHeKeyStore,
  initHome,
  readHome,
  readMaskKey,
  readRegisteredTags,
  saveMaskKey,
  saveRegisteredTags,
} from "../src/home.ts";

const cli = join(import.meta.dirname, "../src/cli.ts");
const dir = mkdtempSync(join(tmpdir(), "relink-exposure-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const relink = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });

const BOOK = [
  "id_number,loan_id,status,outstanding,days_past_due,opened_on",
  "11010519491231002X,L1,active,987654,0,2026-01-01",
  "11010519491231002X,L2,active,12.5,0,2026-01-01",
  "123,L3,closed,0,0,2026-01-01",
].join("\n");

describe("relink exposure (CLI)", () => {
  it("offers the exposure and serve commands", () => {
    const help = relink("--help");
    expect(help.stdout).toContain("exposure");
    expect(help.stdout).toContain("serve");
    const sub = relink("exposure", "--help");
    expect(sub.stdout).toMatch(/query \[options\] <subjects\.csv>/);
    expect(sub.stdout).toMatch(/register \[options\] <book\.csv>/);
    expect(relink("exposure", "query", "--help").stdout).toMatch(/--purpose[\s\S]*--aggregate[\s\S]*--out/);
    expect(relink("serve", "--help").stdout).toMatch(/--book <book\.csv>/);
  });

  it("reports bad rows with row, field and reason, and passes options to the subcommand", () => {
    const book = join(dir, "book.csv");
    writeFileSync(book, BOOK);
    const errors = join(dir, "errors.csv");
    const home = join(dir, "nohome");
    const r = relink("exposure", "register", book, "--home", home, "--errors", errors);
    expect(r.status).toBe(1); // no member node there
    expect(r.stderr).toContain(`no member node in ${home}`);
    expect(r.stderr).toMatch(/row 3, outstanding: not-whole/);
    expect(
      readFileSync(errors, "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",").slice(0, 3).join(",")),
    ).toEqual(["3,outstanding,not-whole", "4,id_number,length"]);
    const applicants = join(dir, "applicants.csv");
    writeFileSync(applicants, "id_number,applicant_ref\n123,A1\n");
    const q = relink("exposure", applicants, "--home", home, "--purpose", "credit_assessment");
    expect(q.status).toBe(1);
    expect(q.stderr).toMatch(/row 2, id_number: length/);
    expect(q.stderr).toMatch(/no valid rows/);
    expect(relink("exposure", applicants, "--purpose", "marketing").stderr).toMatch(/one of/);
  });

  it("serve logs JSON lines with counts only and exits 1 when the hub is unreachable", () => {
    const home = join(dir, "lender");
    initHome(home, "http://127.0.0.1:9");
    const book = join(dir, "book2.csv");
    writeFileSync(book, BOOK);
    const r = relink("serve", "--book", book, "--home", home, "--no-progress");
    expect(r.status).toBe(1);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ event: "book.loaded", loans: 1, subjects: 1, rejected: 2 });
    expect(r.stdout).not.toContain("987654");
    expect(r.stdout).not.toContain("11010519491231002X");
    expect(r.stderr).toMatch(/^relink: /m);
  });
});

describe("member home: exposure secrets", () => {
  it("keeps the mask key in member.json without touching the other settings", () => {
    const home = join(dir, "mask");
    initHome(home, "http://hub.example", "log-key");
    expect(readMaskKey(home)).toBeUndefined();
    const secretKey = new Uint8Array(32).fill(7);
    saveMaskKey(home, { secretKey, registered: false });
    expect(readMaskKey(home)).toEqual({ secretKey, registered: false });
    saveMaskKey(home, { secretKey, registered: true });
    expect(readMaskKey(home)?.registered).toBe(true);
    expect(readHome(home)).toMatchObject({ hubUrl: "http://hub.example", logKey: "log-key" });
    expect(statSync(join(home, "member.json")).mode & 0o777).toBe(0o600);
    expect(readRegisteredTags(home)).toEqual([]);
    saveRegisteredTags(home, ["a", "b"]);
    expect(readRegisteredTags(home)).toEqual(["a", "b"]);
  });

  it("keeps each query's HE secret key for its lifetime, then forgets it", () => {
    const home = join(dir, "keys");
    initHome(home, "http://hub.example");
    let now = 1_000_000;
    const store = fileHeKeyStore(home, () => now);
    const h1 = "A".repeat(43);
    const h2 = "B".repeat(43);
    store.put(h1, new Uint8Array([1, 2, 3]), now + 1000);
    store.put(h2, new Uint8Array([4]), now + 5000);
    expect(store.get(h1, now)).toEqual(new Uint8Array([1, 2, 3]));
    expect(statSync(join(home, "exposure-keys", `${h1}.json`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "exposure-keys")).mode & 0o777).toBe(0o700);
    now += 2000;
    expect(store.get(h1, now)).toBeUndefined();
    expect(readdirSync(join(home, "exposure-keys"))).toEqual([`${h2}.json`]); // expired key deleted
    store.delete(h2);
    expect(store.get(h2, now)).toBeUndefined();
    expect(() => store.get("../member", now)).toThrow(/malformed/);
  });
});
