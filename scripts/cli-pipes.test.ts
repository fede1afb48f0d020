/**
 * Every binary's help survives a reader that closes the pipe early (`relink --help | head -1`): exit 0 and
 * no EPIPE stack trace. The read end is closed before the child has started, so its first write fails.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const BINARIES = {
  relink: "apps/member-node/bin/relink.js",
  "relink (src/cli.ts)": "apps/member-node/src/cli.ts",
  "relink-keyholder": "apps/keyholder/src/main.ts",
  "relink-hub": "apps/hub/src/main.ts",
};

function helpIntoClosedPipe(entry: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, entry), "--help"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("help into a closed pipe", () => {
  for (const [name, entry] of Object.entries(BINARIES)) {
    it(`${name} --help exits 0 without a stack trace`, async () => {
      const r = await helpIntoClosedPipe(entry);
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
      expect(r.code).toBe(0);
    });
  }
});
