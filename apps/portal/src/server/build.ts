/**
 * Builds the portal (`next build --webpack`) when the production build is missing or older than any of its
 * sources (the portal's own files and the workspace packages it bundles). Used by `npm start`, the portal's
 * end-to-end tests and the benchmark; CI builds once before the tests (.ci/run).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { PORTAL_DIR } from "./index.ts";

const ROOT = join(PORTAL_DIR, "..", "..");
const SOURCES = [
  ...["app", "web", "src/bridge.ts", "proxy.ts", "next.config.ts", "package.json"].map((p) =>
    join(PORTAL_DIR, p),
  ),
  ...["sdk", "psi", "he", "identity", "protocol", "tlog", "api"].map((p) => join(ROOT, "packages", p, "src")),
];

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of readdirSync(path)) max = Math.max(max, newest(join(path, e)));
  return max;
}

export function portalBuildStale(dir = PORTAL_DIR): boolean {
  const id = join(dir, ".next", "BUILD_ID");
  if (!existsSync(id)) return true;
  return SOURCES.some((s) => newest(s) > statSync(id).mtimeMs);
}

/** Runs `next build` if needed; resolves with whether it built. Output goes to `onOutput`. */
export async function ensurePortalBuild(onOutput: (s: string) => void = () => {}): Promise<boolean> {
  if (!portalBuildStale()) return false;
  const nextBin = createRequire(join(PORTAL_DIR, "package.json")).resolve("next/dist/bin/next");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [nextBin, "build", "--webpack"], {
      cwd: PORTAL_DIR,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (d: Buffer) => onOutput(d.toString()));
    child.stderr.on("data", (d: Buffer) => onOutput(d.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`next build exited with ${code}`)),
    );
  });
  return true;
}
