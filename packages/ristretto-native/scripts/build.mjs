// Builds build/ristretto.node from native/ristretto.c against the system libsodium (Debian: libsodium-dev) and
// the Node-API headers (npm's `nodedir`, else /usr/include/node, else the running Node's own headers).
// Plain JavaScript on purpose: npm may run this install hook with the machine's Node 20 (no type stripping).
//
//   node scripts/build.mjs               build or exit 1 with the reason (CI, `npm run build -w …`)
//   node scripts/build.mjs --if-possible build, or print one line saying why not and exit 0 (npm install hook)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");
const tolerant = process.argv.includes("--if-possible");
const out = join(root, "build", "ristretto.node");

function give(reason) {
  if (tolerant) {
    console.log(`@relink/ristretto-native: not built (${reason}); Node processes will use libsodium WASM`);
    process.exit(0);
  }
  console.error(`@relink/ristretto-native: build failed: ${reason}`);
  process.exit(1);
}

try {
  const headerDirs = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, "include", "node"),
    "/usr/include/node",
    join(dirname(dirname(process.execPath)), "include", "node"),
  ].filter(Boolean);
  const nodeHeaders = headerDirs.find((d) => existsSync(join(d, "node_api.h")));
  if (!nodeHeaders) give(`no Node-API headers (node_api.h) in ${headerDirs.join(", ")}`);
  if (!existsSync("/usr/include/sodium.h"))
    give("libsodium headers missing: apt-get install -y libsodium-dev");
  const cc = process.env.CC || "cc";

  mkdirSync(join(root, "build"), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const args = [
    "-std=c11",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fPIC",
    "-shared",
    "-fvisibility=hidden",
    "-D_FORTIFY_SOURCE=2",
    "-fstack-protector-strong",
    `-I${nodeHeaders}`,
    ...(process.env.RISTRETTO_SANITIZE
      ? ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-g"]
      : []),
    join(root, "native", "ristretto.c"),
    join(root, "native", "msm.c"),
    "-lsodium",
    "-o",
    tmp,
  ];
  const r = spawnSync(cc, args, { stdio: ["ignore", "inherit", "pipe"], encoding: "utf8" });
  if (r.error) give(`${cc}: ${r.error.message}`);
  if (r.status !== 0)
    give(`${cc} exited ${r.status}: ${(r.stderr || "").trim().split("\n").slice(0, 5).join(" | ")}`);
  renameSync(tmp, out);
  console.log(`@relink/ristretto-native: built ${out}`);
} catch (e) {
  give(e instanceof Error ? e.message : String(e));
}
