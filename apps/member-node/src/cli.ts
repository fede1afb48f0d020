#!/usr/bin/env node
/**
 * `relink`: the member node's command line. One file per command group under commands/, each exporting
 * `register(program)`; add a group by adding a file and one entry in GROUPS below (with the top-level
 * command names it registers — test/cli-groups.test.ts checks the list against the files). The member node
 * verifies with packages/tlog, talks to the hub through packages/sdk (signed tRPC) or plain fetch — never
 * through core or db.
 *
 * Groups are imported lazily: a command loads only its own group, so `relink receipt verify` does not pay
 * for the SDK, the PSI worker pool and SEAL's WASM (≈ 2 s of imports on a loaded machine against ≈ 0.3 s).
 * Help, unknown commands and no command load every group.
 */
import { Command } from "commander";

interface Group {
  /** Top-level commands the group's register() adds. */
  commands: readonly string[];
  load(): Promise<{ register(program: Command): void }>;
}

export const GROUPS: readonly Group[] = [
  {
    commands: ["init", "publish", "consent", "match", "erase"],
    load: () => import("./commands/member.ts"),
  },
  { commands: ["exposure", "serve"], load: () => import("./commands/exposure.ts") },
  { commands: ["admin"], load: () => import("./commands/admin.ts") },
  { commands: ["log"], load: () => import("./commands/log.ts") },
  { commands: ["receipt"], load: () => import("./commands/receipt.ts") },
  { commands: ["witness"], load: () => import("./commands/witness.ts") },
];

/** The program with every group, or only the group of `command` when one claims it. */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command("relink").description("Relink member node").version("0.1.0");
  const own = GROUPS.filter((g) => command !== undefined && g.commands.includes(command));
  const groups = own.length > 0 ? own : GROUPS;
  for (const g of await Promise.all(groups.map((g) => g.load()))) g.register(program);
  return program;
}

if (import.meta.main) {
  await (await buildProgram(process.argv[2])).parseAsync(process.argv);
}
