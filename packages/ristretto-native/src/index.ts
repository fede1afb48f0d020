/**
 * @relink/ristretto-native — psi's ristretto255 {@link Group} on the system libsodium (≥ 1.0.18) through a
 * Node-API addon (ADR 0019), for Node processes only; browsers keep libsodium WASM. Node apps choose the
 * backend once at start-up with {@link chooseNodeGroup} and pass it down (psi never loads native code).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Group, loadSodiumGroup } from "@relink/psi";
import { ADDON_PATH, loadAddon } from "./addon.ts";
import { makeNativeGroup, type NativeGroup } from "./native-group.ts";

export type { NativeGroup } from "./native-group.ts";
export { ADDON_PATH };

/** URL of the module the OPRF pool's workers import to load the native group (`groupModule`). */
export const POOL_GROUP_MODULE: string = new URL("./pool-group.ts", import.meta.url).href;

let native: { group: NativeGroup } | { reason: string } | undefined;

/** The native group, or why it is unavailable (addon not built, libsodium missing, load error). */
export function loadNativeGroup(): { group: NativeGroup } | { reason: string } {
  native ??= (() => {
    const r = loadAddon();
    return "addon" in r ? { group: makeNativeGroup(r.addon) } : r;
  })();
  return native;
}

/** The start-up line's facts, for structured loggers. */
export interface GroupLogFields {
  backend: "native" | "sodium";
  sodiumVersion?: string;
  /** Why native is not used. */
  reason?: string;
}

export interface NodeGroupChoice {
  /** The group for the main thread. */
  readonly group: Group;
  /** The native group when chosen (its async batch forms run on the libuv thread pool). */
  readonly native: NativeGroup | undefined;
  /** Options for psi's `createOprfPool` so that its workers use the same backend. */
  readonly pool: { group: Group; groupModule?: string };
  /** Why the native backend is not used (undefined when it is). */
  readonly fallbackReason: string | undefined;
}

/**
 * Picks the fastest constant-time backend this process can load: native, else libsodium WASM, and logs one
 * line saying which and, for the fallback, why. `prefer: "sodium"` forces WASM (comparisons, debugging).
 */
export async function chooseNodeGroup(
  opts: { log?: (line: string, fields: GroupLogFields) => void; prefer?: "native" | "sodium" } = {},
): Promise<NodeGroupChoice> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const n: { group: NativeGroup } | { reason: string } =
    opts.prefer === "sodium" ? { reason: "WASM requested" } : loadNativeGroup();
  if ("group" in n) {
    log(`ristretto255: native libsodium ${n.group.sodiumVersion} (Node-API addon)`, {
      backend: "native",
      sodiumVersion: n.group.sodiumVersion,
    });
    return {
      group: n.group,
      native: n.group,
      pool: { group: n.group, groupModule: POOL_GROUP_MODULE },
      fallbackReason: undefined,
    };
  }
  const wasm = await loadSodiumGroup();
  log(`ristretto255: libsodium WASM — ${n.reason}`, { backend: "sodium", reason: n.reason });
  return { group: wasm, native: undefined, pool: { group: wasm }, fallbackReason: n.reason };
}

/**
 * Builds the addon when it is missing (for `npm start` on a clone whose install hook could not build it, e.g.
 * libsodium-dev was installed afterwards). Never throws: returns the build's one-line outcome.
 */
export function ensureNativeBuild(): string {
  if (existsSync(fileURLToPath(ADDON_PATH))) return "native addon present";
  const script = fileURLToPath(new URL("../scripts/build.mjs", import.meta.url));
  const r = spawnSync(process.execPath, [script, "--if-possible"], { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() || `build exited ${r.status}`;
}
