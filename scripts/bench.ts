/**
 * `npm run bench -- <name>` runs one benchmark; `npm run bench` runs all.
 * A benchmark is a file `<workspace>/bench/<name>.bench.ts` (apps/*, packages/*, circuits) run as its own
 * Node process. It prints a
 * readable table and, as its last line, `BENCH <name> <one-line JSON>`; every speed figure sits beside a
 * baseline measured in the same run (see docs/benchmarks.md). Arguments starting with `-` are passed to
 * every benchmark run (e.g. `npm run bench -- skiptrace --records 100000`).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");

export function findBenchmarks(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const workspaces = ["apps", "packages"].flatMap((group) =>
    readdirSync(join(dir, group), { withFileTypes: true })
      .filter((pkg) => pkg.isDirectory())
      .map((pkg) => join(dir, group, pkg.name)),
  );
  // circuits/ is a workspace at the top level, beside apps/ and packages/.
  for (const ws of [...workspaces, join(dir, "circuits")]) {
    let files: string[] = [];
    try {
      files = readdirSync(join(ws, "bench"));
    } catch {
      continue;
    }
    for (const file of files) {
      const m = /^(.+)\.bench\.ts$/.exec(file);
      if (m?.[1]) found.set(m[1], join(ws, "bench", file));
    }
  }
  return found;
}

if (import.meta.main) {
  const benches = findBenchmarks(root);
  const args = process.argv.slice(2);
  const firstOption = args.findIndex((a) => a.startsWith("-"));
  const wanted = firstOption < 0 ? args : args.slice(0, firstOption);
  const options = firstOption < 0 ? [] : args.slice(firstOption);
  const unknown = wanted.filter((w) => !benches.has(w));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(", ")}; known: ${[...benches.keys()].sort().join(", ")}`,
    );
    process.exit(2);
  }
  let failed = 0;
  for (const name of wanted.length > 0 ? wanted : [...benches.keys()].sort()) {
    const file = benches.get(name)!;
    console.log(`\n== bench ${name} (${relative(root, file)})`);
    const r = spawnSync(process.execPath, [file, ...options], { stdio: "inherit", cwd: root });
    if (r.status !== 0) failed++;
  }
  process.exit(failed === 0 ? 0 : 1);
}
