#!/usr/bin/env node
/**
 * `relink`: the member node's command line. One file per command group under commands/, each exporting
 * `register(program)`; add a group by adding a file and one line below. The member node verifies with
 * packages/tlog, talks to the hub through packages/sdk (signed tRPC) or plain fetch — never through core or db.
 */
import { Command, CommanderError } from "commander";
import { register as registerAdmin } from "./commands/admin.ts";
import { register as registerExposure } from "./commands/exposure.ts";
import { register as registerLog } from "./commands/log.ts";
import { register as registerMember } from "./commands/member.ts";
import { register as registerReceipt } from "./commands/receipt.ts";
import { register as registerWitness } from "./commands/witness.ts";
import { describeError, EXIT, exitCodeOf } from "./errors.ts";

export function buildProgram(): Command {
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
  registerMember(program);
  registerExposure(program);
  registerAdmin(program);
  registerLog(program);
  registerReceipt(program);
  registerWitness(program);
  return program;
}

/** Runs the CLI: usage errors exit 2, other errors print one line (no stack trace) and exit 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
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

if (import.meta.main) {
  await main(process.argv);
}
