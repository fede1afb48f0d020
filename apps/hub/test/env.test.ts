import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { formatVerifierKey, generateSignerKey, verifierOf } from "@relink/tlog";
import { describe, expect, it } from "vitest";
import { HubEnvError, parseHubEnv } from "../src/env.ts";

describe("hub environment (zod, issue 14)", () => {
  it("defaults, and empty variables count as unset", () => {
    expect(parseHubEnv({})).toMatchObject({
      HUB_HOST: "127.0.0.1",
      HUB_PORT: 7400,
      RELINK_DATA_DIR: ".relink/db",
      RELINK_LOG_WITNESSES: [],
      RELINK_LOG_CHECKPOINT_INTERVAL_MS: 10_000,
      RELINK_LOG_INTEGRITY_INTERVAL_MS: 3_600_000,
      RELINK_PORTAL: "0",
    });
    expect(parseHubEnv({ HUB_PORT: "", RELINK_DATA_DIR: "" })).toMatchObject({
      HUB_PORT: 7400,
      RELINK_DATA_DIR: ".relink/db",
    });
    expect(parseHubEnv({ HUB_PORT: "0", RELINK_LOG_CHECKPOINT_INTERVAL_MS: "0" })).toMatchObject({
      HUB_PORT: 0,
      RELINK_LOG_CHECKPOINT_INTERVAL_MS: 0,
    });
  });

  it("a port that is not a number is a typed error naming HUB_PORT, never NaN", () => {
    for (const bad of ["abc", "80x", "-1", "1.5", "65536", " 80"]) {
      let thrown: unknown;
      try {
        parseHubEnv({ HUB_PORT: bad });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(HubEnvError);
      expect(thrown).toMatchObject({ variable: "HUB_PORT" });
      expect((thrown as Error).message).toContain(`'${bad}'`);
    }
  });

  it("intervals, the portal switch and its URL are checked too", () => {
    expect(() => parseHubEnv({ RELINK_LOG_INTEGRITY_INTERVAL_MS: "soon" })).toThrow(
      expect.objectContaining({ variable: "RELINK_LOG_INTEGRITY_INTERVAL_MS" }),
    );
    expect(() => parseHubEnv({ RELINK_PORTAL: "yes" })).toThrow(
      expect.objectContaining({ variable: "RELINK_PORTAL" }),
    );
    expect(() => parseHubEnv({ RELINK_PORTAL_URL: "not a url" })).toThrow(
      expect.objectContaining({ variable: "RELINK_PORTAL_URL" }),
    );
  });

  it("witnesses: '<vkey> <url>' pairs, parsed; anything else names RELINK_LOG_WITNESSES", () => {
    const vkey = formatVerifierKey(
      verifierOf(generateSignerKey("w.example/1", (n) => new Uint8Array(n).fill(7))),
    );
    const env = parseHubEnv({
      RELINK_LOG_WITNESSES: `${vkey} http://127.0.0.1:9/w, ${vkey} http://127.0.0.1:10`,
    });
    expect(env.RELINK_LOG_WITNESSES.map((w) => [w.key.name, w.url])).toEqual([
      ["w.example/1", "http://127.0.0.1:9/w"],
      ["w.example/1", "http://127.0.0.1:10"],
    ]);
    for (const bad of [vkey, `${vkey} not-a-url`, `garbage http://127.0.0.1:9`]) {
      expect(() => parseHubEnv({ RELINK_LOG_WITNESSES: bad })).toThrow(
        expect.objectContaining({ variable: "RELINK_LOG_WITNESSES" }),
      );
    }
  });

  it("the process refuses HUB_PORT=abc with one line naming it and exit 1, before opening anything", () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, "../src/main.ts")], {
      env: { ...process.env, HUB_PORT: "abc", RELINK_DATA_DIR: "/nonexistent/relink-hub-env-test" },
      encoding: "utf8",
      timeout: Number(process.env["RELINK_START_TIMEOUT_MS"] || 600_000),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^relink-hub: environment: HUB_PORT: .*'abc'/m);
    expect(r.stdout).not.toContain("listening");
  });
});
