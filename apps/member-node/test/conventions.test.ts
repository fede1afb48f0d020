/**
 * CLI conventions, as processes and without a hub: --help, --json and --quiet on every command; exit codes
 * (usage 2, partial 3, failure 1); settings from flag > env > config file > default; no stack trace for a
 * user error (missing file, existing key file, hub down names the URL); --receipts checked before any work;
 * CSV input errors named by row/field/reason without cell content; Excel-safe errors CSV.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const cli = join(import.meta.dirname, "../src/cli.ts");
const dir = mkdtempSync(join(tmpdir(), "relink-conventions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A closed port: nothing listens on 9 (discard) here. */
const DEAD_HUB = "http://127.0.0.1:9";
const ID = "11010519491231002X";
const cleanEnv = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, "xdg") } as NodeJS.ProcessEnv;
delete cleanEnv["RELINK_HOME"];
delete cleanEnv["RELINK_HUB"];
delete cleanEnv["RELINK_CONFIG"];

function relink(args: string[], env: NodeJS.ProcessEnv = {}, cwd = dir) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    cwd,
    env: { ...cleanEnv, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

const COMMANDS = [
  ["init"],
  ["publish"],
  ["consent", "import"],
  ["consent", "revoke"],
  ["match"],
  ["erase"],
  ["exposure", "query"],
  ["exposure", "register"],
  ["serve"],
  ["key", "rotate"],
];

describe("help and usage", () => {
  it("every member command has --help with --json and --quiet, and exits 0", { timeout: 600_000 }, () => {
    for (const c of COMMANDS) {
      const r = relink([...c, "--help"]);
      expect(r.code, c.join(" ")).toBe(0);
      expect(r.stdout, c.join(" ")).toMatch(/--json/);
      expect(r.stdout, c.join(" ")).toMatch(/--quiet/);
      expect(r.stdout, c.join(" ")).toMatch(/--home/);
    }
    for (const c of [
      ["receipt", "verify"],
      ["log", "verify"],
      ["witness", "keygen"],
    ])
      expect(relink([...c, "--help"]).stdout).toMatch(/--json/);
    expect(relink(["--help"]).stdout).toMatch(
      /Exit codes: 0 done, 1 failed, 2 usage error, 3 done but some rows/,
    );
  });

  it("usage errors exit 2", () => {
    expect(relink(["match"]).code).toBe(2); // missing argument
    expect(relink(["match", "x.csv", "--purpose", "curiosity"]).code).toBe(2);
    expect(relink(["publish", "x.csv", "--no-such-flag"]).code).toBe(2);
    expect(relink(["no-such-command"]).code).toBe(2);
    expect(relink(["match", "x.csv", "--purpose", "debt_collection", "--lang", "fr"]).code).toBe(2);
  });
});

describe("user errors: one line, no stack trace", () => {
  it("a missing input file, an existing key file, a missing home", () => {
    const home = join(dir, "h-missing");
    const missing = relink(["publish", join(dir, "nope.csv"), "--home", home]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.csv: no such file/);
    noStack(missing.stderr);
    const key = join(dir, "admin.key");
    expect(relink(["admin", "keygen", "--out", key]).code).toBe(0);
    const again = relink(["admin", "keygen", "--out", key]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/admin\.key exists: refusing to overwrite a key file/);
    noStack(again.stderr);
    const wkey = join(dir, "w.key");
    expect(relink(["witness", "keygen", "--name", "w.example/witness", "--out", wkey, "--json"]).code).toBe(
      0,
    );
    const w2 = relink(["witness", "keygen", "--name", "w.example/witness", "--out", wkey]);
    expect([w2.code, /exists/.test(w2.stderr)]).toEqual([1, true]);
    noStack(w2.stderr);
    const receipt = relink(["receipt", "verify", join(dir, "none.json"), "--log-key", "x+1+AA"]);
    expect(receipt.code).toBe(1);
    expect(receipt.stderr).toMatch(/none\.json: no such file/);
    noStack(receipt.stderr);
  });

  it("a hub that is down is named by its URL", () => {
    const home = join(dir, "h-down");
    expect(relink(["init", "--hub", DEAD_HUB, "--home", home]).code).toBe(0);
    const csv = join(dir, "debtors.csv");
    writeFileSync(csv, `debtor_ref,id_number\nD1,${ID}\n`);
    const r = relink(["match", csv, "--purpose", "debt_collection", "--home", home]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach ${DEAD_HUB}`);
    noStack(r.stderr);
    // --hub overrides the recorded URL.
    const other = relink([
      "match",
      csv,
      "--purpose",
      "debt_collection",
      "--home",
      home,
      "--hub",
      "http://127.0.0.1:7",
    ]);
    expect(other.stderr).toContain("cannot reach http://127.0.0.1:7");
  });
});

describe("settings: flag > env > config file > default", () => {
  it("RELINK_HOME and RELINK_HUB spare the flags; a flag beats the env; the config file fills the rest", () => {
    const envHome = join(dir, "env-home");
    const r = relink(["init"], { RELINK_HOME: envHome, RELINK_HUB: DEAD_HUB });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ home: envHome, created: true });
    expect(JSON.parse(readFileSync(join(envHome, "member.json"), "utf8")).hubUrl).toBe(DEAD_HUB);

    const flagHome = join(dir, "flag-home");
    expect(relink(["init", "--home", flagHome], { RELINK_HOME: envHome, RELINK_HUB: DEAD_HUB }).code).toBe(0);
    expect(existsSync(join(flagHome, "member.json"))).toBe(true);

    // Config file at the XDG default: home and hub from it.
    const cfgHome = join(dir, "cfg-home");
    mkdirSync(join(dir, "xdg", "relink"), { recursive: true });
    writeFileSync(
      join(dir, "xdg", "relink", "config.json"),
      JSON.stringify({ home: cfgHome, hub: "http://127.0.0.1:8" }),
    );
    expect(relink(["init"]).code).toBe(0);
    expect(JSON.parse(readFileSync(join(cfgHome, "member.json"), "utf8")).hubUrl).toBe("http://127.0.0.1:8");
    // The env beats the config file.
    const csv = join(dir, "d.csv");
    writeFileSync(csv, `debtor_ref,id_number\nD1,${ID}\n`);
    const viaEnv = relink(["match", csv, "--purpose", "debt_collection"], {
      RELINK_HUB: "http://127.0.0.1:7",
    });
    expect(viaEnv.stderr).toContain("cannot reach http://127.0.0.1:7");
    const viaCfg = relink(["match", csv, "--purpose", "debt_collection"]);
    expect(viaCfg.stderr).toContain("cannot reach http://127.0.0.1:8");
    // A config file with an unknown setting is an error naming it.
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ hubb: "x" }));
    const b = relink(["match", csv, "--purpose", "debt_collection", "--config", bad]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/unknown setting "hubb"/);
    rmSync(join(dir, "xdg"), { recursive: true, force: true });
  });

  it("--receipts is created, or refused before any work when it cannot be written", () => {
    const home = join(dir, "h-rec");
    expect(relink(["init", "--hub", DEAD_HUB, "--home", home]).code).toBe(0);
    const csv = join(dir, "r.csv");
    writeFileSync(csv, `debtor_ref,id_number\nD1,${ID}\n`);
    const made = join(dir, "receipts", "nested");
    const r = relink(["match", csv, "--purpose", "debt_collection", "--home", home, "--receipts", made]);
    expect(existsSync(made)).toBe(true); // created before the hub was contacted
    expect(r.stderr).toContain("cannot reach"); // and then the hub was down
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const refused = relink([
      "match",
      csv,
      "--purpose",
      "debt_collection",
      "--home",
      home,
      "--receipts",
      file,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--receipts .*a-file: (not a directory|cannot create it)/);
    expect(refused.stderr).not.toContain("cannot reach"); // refused before any work
    const ro = join(dir, "read-only");
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    if (process.getuid?.() !== 0) {
      const r2 = relink(["match", csv, "--purpose", "debt_collection", "--home", home, "--receipts", ro]);
      expect(r2.stderr).toMatch(/not writable/);
    }
    const out = relink([
      "match",
      csv,
      "--purpose",
      "debt_collection",
      "--home",
      home,
      "--out",
      join(dir, "no-dir", "x.csv"),
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/--out .*does not exist/);
  });
});

describe("CSV input through the CLI", () => {
  it("hostile rows are listed by row, field and reason (exit 3 when the rest succeeds), never with content", () => {
    const home = join(dir, "h-csv");
    expect(relink(["init", "--hub", DEAD_HUB, "--home", home]).code).toBe(0);
    const csv = join(dir, "hostile.csv");
    writeFileSync(
      csv,
      [
        "参考号,身份证号,姓名,出生日期",
        `D1,${ID},张三,1949-12-31`,
        `D2,${ID},\u202e三张,1949-12-31`,
        `D3,${ID},张\u0000三,1949-12-31`,
        "D4,1.10105E+17,,",
        ",,,",
        `D6,${ID},张三`,
      ].join("\r\n"),
    );
    const errors = join(dir, "errors.csv");
    const r = relink(["erase", csv, "--home", home, "--errors", errors, "--lang", "zh"]);
    expect(r.code).toBe(1); // the hub is down; the rejected rows were still reported first
    expect(r.stderr).toMatch(/row 3, name: control-character/);
    expect(r.stderr).toMatch(/row 4, name: control-character/);
    expect(r.stderr).toMatch(/row 5, id_number: excel-scientific: .*format the column as Text/);
    expect(r.stderr).toMatch(/row 7, row: column-count/);
    expect(r.stderr).not.toMatch(/row 6/); // an empty row is skipped
    for (const p of [ID, "张三", "三张"]) expect(r.stderr).not.toContain(p);
    const written = readFileSync(errors, "utf8");
    expect(written.startsWith("\ufeff行号,列,原因,说明\r\n")).toBe(true);

    const typo = join(dir, "typo.csv");
    writeFileSync(typo, `debtor_ref,id_nubmer\nD1,${ID}\n`);
    const t = relink(["match", typo, "--purpose", "debt_collection", "--home", home]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/unknown column "id_nubmer" — did you mean "id_number"\?/);
    noStack(t.stderr);
    const quote = join(dir, "quote.csv");
    writeFileSync(quote, `debtor_ref,id_number\nD1,"${ID}\n`);
    const q = relink(["match", quote, "--purpose", "debt_collection", "--home", home]);
    expect(q.stderr).toMatch(/row 2, column B: a quoted cell is never closed/);
    expect(q.stderr).not.toContain(ID);
    const empty = join(dir, "empty.csv");
    writeFileSync(empty, "");
    expect(relink(["match", empty, "--purpose", "debt_collection", "--home", home]).stderr).toMatch(
      /the file is empty/,
    );
    const headerOnly = join(dir, "header-only.csv");
    writeFileSync(headerOnly, "debtor_ref,id_number\r\n");
    expect(relink(["match", headerOnly, "--purpose", "debt_collection", "--home", home]).stderr).toMatch(
      /header row but no data rows/,
    );
  });

  it("--quiet prints nothing on stdout; --json prints one JSON object", () => {
    const home = join(dir, "h-quiet");
    const q = relink(["init", "--hub", DEAD_HUB, "--home", home, "--quiet"]);
    expect([q.code, q.stdout]).toEqual([0, ""]);
    const w = relink([
      "witness",
      "keygen",
      "--name",
      "q.example/witness",
      "--out",
      join(dir, "q.key"),
      "--json",
    ]);
    expect(JSON.parse(w.stdout)).toMatchObject({
      verifierKey: expect.stringMatching(/^q\.example\/witness\+/),
    });
  });
});
