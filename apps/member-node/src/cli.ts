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
import { Command, CommanderError } from "commander";
import { describeError, EXIT, exitCodeOf } from "./errors.ts";

interface Group {
  /** Top-level commands the group's register() adds. */
  commands: readonly string[];
  load(): Promise<{ register(program: Command): void }>;
}

export const GROUPS: readonly Group[] = [
  {
    commands: ["init", "publish", "consent", "match", "erase"],
    // `consent commit` (zero-knowledge consents) hangs off the member group's `consent` command.
    load: async () => {
      const [member, proofs] = await Promise.all([
        import("./commands/member.ts"),
        import("./commands/consent-proofs.ts"),
      ]);
      return {
        register(program: Command) {
          member.register(program);
          proofs.register(program);
        },
      };
    },
  },
  { commands: ["exposure", "serve"], load: () => import("./commands/exposure.ts") },
  { commands: ["admin"], load: () => import("./commands/admin.ts") },
  { commands: ["key"], load: () => import("./commands/key.ts") },
  { commands: ["dpo"], load: () => import("./commands/dpo.ts") },
  { commands: ["log"], load: () => import("./commands/log.ts") },
  { commands: ["receipt"], load: () => import("./commands/receipt.ts") },
  { commands: ["witness"], load: () => import("./commands/witness.ts") },
];

/** The program with every group, or only the group of `command` when one claims it. */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command("relink")
    .description("Relink member node")
    .version("0.1.0")
    .addHelpText(
      "after",
      "\nSettings: flag > environment (RELINK_HOME, RELINK_HUB, RELINK_RECEIPTS, RELINK_LANG, RELINK_CONFIG) >\n" +
        "config file (~/.config/relink/config.json) > default.\n" +
        "Exit codes: 0 done, 1 failed, 2 usage error, 3 done but some rows rejected, 4 log fork found.",
    )
    // Usage errors exit 2 (commander's default is 1); help and version exit 0.
    .exitOverride();
  const own = GROUPS.filter((g) => command !== undefined && g.commands.includes(command));
  const groups = own.length > 0 ? own : GROUPS;
  for (const g of await Promise.all(groups.map((g) => g.load()))) g.register(program);
  return program;
}

/** Runs the CLI: usage errors exit 2, other errors print one line (no stack trace) and exit 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv[2])).parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed the message (or the help) already.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    console.error(`relink: ${describeError(error)}`);
    if (process.env["RELINK_DEBUG"] && error instanceof Error) console.error(error.stack);
    process.exitCode = exitCodeOf(error);
  }
}

/**
 * The process entry (bin/relink.js, or this file run directly). A reader that stops early
 * (`relink --help | head`) closes the pipe: exit quietly as Unix tools do, not with an EPIPE stack trace.
 * (The hub and key holder call `exitQuietlyWhenStdoutCloses` of `@relink/protocol/http`; importing that
 * entry here would load undici into every command's start-up, ≈ 170 ms, against the 0.5 s budget.)
 */
export async function run(argv: string[]): Promise<void> {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(EXIT.ok);
  });
  await main(argv);
}

if (import.meta.main) {
  await run(process.argv);
}
