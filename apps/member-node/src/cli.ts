#!/usr/bin/env node
/**
 * `relink`: the member node's command line. One file per command group under commands/, each exporting
 * `register(program)`; add a group by adding a file and one line below. The member node verifies with
 * packages/tlog, talks to the hub through packages/sdk (signed tRPC) or plain fetch — never through core or db.
 */
import { Command } from "commander";
import { register as registerAdmin } from "./commands/admin.ts";
import { register as registerDpo } from "./commands/dpo.ts";
import { register as registerExposure } from "./commands/exposure.ts";
import { register as registerLog } from "./commands/log.ts";
import { register as registerMember } from "./commands/member.ts";
import { register as registerReceipt } from "./commands/receipt.ts";
import { register as registerWitness } from "./commands/witness.ts";

export function buildProgram(): Command {
  const program = new Command("relink").description("Relink member node").version("0.1.0");
  registerMember(program);
  registerExposure(program);
  registerAdmin(program);
  registerDpo(program);
  registerLog(program);
  registerReceipt(program);
  registerWitness(program);
  return program;
}

if (import.meta.main) {
  await buildProgram().parseAsync(process.argv);
}
