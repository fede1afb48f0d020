/** Imported by psi's OPRF pool workers (`groupModule`): the native group in this thread. */
import type { Group } from "@relink/psi";
import { loadNativeGroup } from "./index.ts";

export async function loadGroup(): Promise<Group> {
  const r = loadNativeGroup();
  if ("group" in r) return r.group;
  throw new Error(`ristretto255 native group unavailable in a pool worker: ${r.reason}`);
}
