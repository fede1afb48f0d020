import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testDatabaseUrl } from "@relink/db/testing";
import { rawExchange } from "@relink/protocol/http/testing";
import { afterAll, expect, it } from "vitest";

const main = join(import.meta.dirname, "../src/main.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts the real hub process, waits for its "listening on" line, returns its URL and a stopper. */
async function startProcess(
  env: Record<string, string>,
): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, HUB_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        child.kill("SIGKILL");
        reject(new Error(`hub did not start (RELINK_START_TIMEOUT_MS): ${out}`));
      },
      Number(process.env["RELINK_START_TIMEOUT_MS"] || 600_000),
    );
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code}: ${out}`));
    });
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
  };
}

it("starts on embedded PGlite with no server, answers /healthz, persists, and stops cleanly", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "relink-hub-"));
  dirs.push(dataDir);
  const env = { RELINK_DATA_DIR: dataDir, DATABASE_URL: "" };
  const hub = await startProcess(env);
  const health = await (await fetch(`${hub.url}/healthz`)).json();
  expect(health).toMatchObject({ status: "ok", database: "pglite" });
  expect(health.migrations.length).toBeGreaterThan(0);
  const missing = await fetch(`${hub.url}/nope`);
  expect(missing.status).toBe(404);
  expect((await missing.json()).error.code).toBe("NOT_FOUND");
  expect(await hub.stop()).toBe(0);
  // Reopening the same data directory finds the migrated database.
  const again = await startProcess(env);
  expect((await (await fetch(`${again.url}/healthz`)).json()).migrations).toEqual(health.migrations);
  expect(await again.stop()).toBe(0);
});

it("survives the issue-15 attack: GET /log/leaf/%ZZ gets a typed 400 and the process keeps serving", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "relink-hub-"));
  dirs.push(dataDir);
  const hub = await startProcess({ RELINK_DATA_DIR: dataDir, DATABASE_URL: "" });
  const port = Number(new URL(hub.url).port);
  for (const path of ["/log/leaf/%ZZ", "/log/receipt/%", "/log/leaf/%C0%AF"]) {
    const ex = await rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
    expect(ex.responses.map((r) => r.status)).toEqual([400]);
    expect(JSON.parse(ex.responses[0]!.body.toString()).error.code).toBe("BAD_INPUT");
  }
  expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
  expect(await hub.stop()).toBe(0);
});

it.skipIf(!testDatabaseUrl())("starts on PostgreSQL when DATABASE_URL is set", async () => {
  const { freshPostgres } = await import("@relink/db/testing");
  const pg = await freshPostgres(testDatabaseUrl()!, { migrate: false });
  try {
    const hub = await startProcess({ DATABASE_URL: pg.connectionString! });
    const health = await (await fetch(`${hub.url}/healthz`)).json();
    expect(health).toMatchObject({ status: "ok", database: "postgres" });
    expect(await hub.stop()).toBe(0);
  } finally {
    await pg.close();
  }
});

it("--help prints the environment it reads and never starts the hub; an argument is a usage error", () => {
  const env = { ...process.env, HUB_PORT: "0", RELINK_DATA_DIR: join(tmpdir(), "relink-hub-help-never") };
  const help = spawnSync(process.execPath, [main, "--help"], { encoding: "utf8", env });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/RELINK_NETWORK_CONFIG/);
  expect(help.stdout).not.toMatch(/listening on/);
  expect(existsSync(env.RELINK_DATA_DIR)).toBe(false); // nothing was created
  const bad = spawnSync(process.execPath, [main, "--port", "1"], { encoding: "utf8", env });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/unexpected argument '--port'/);
});

it("a broken network config is one line, exit 1, no stack trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "relink-hub-badcfg-"));
  dirs.push(dir);
  const cfg = join(dir, "network.json");
  writeFileSync(cfg, "{ not json");
  const r = spawnSync(process.execPath, [main], {
    encoding: "utf8",
    env: { ...process.env, HUB_PORT: "0", RELINK_DATA_DIR: dir, RELINK_NETWORK_CONFIG: cfg },
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/relink-hub: RELINK_NETWORK_CONFIG .*network\.json: /);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
});
