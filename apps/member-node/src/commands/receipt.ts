/** `relink receipt verify <file>`: checks a receipt offline against the log key and the witnesses. */
import { readFileSync } from "node:fs";
import { verifyReceipt } from "@relink/tlog";
import type { Command } from "commander";
import { collect, nonNegativeInt } from "./options.ts";

export function register(program: Command): void {
  const receipt = program.command("receipt").description("audit receipts");
  receipt
    .command("verify")
    .description(
      "verify a receipt offline: log signature, k-of-n witness cosignatures, inclusion of the leaf",
    )
    .argument("<file>", "receipt JSON file")
    .requiredOption("--log-key <vkey>", "the log's verifier key (name+id+key)")
    .option("--witness <vkey>", "a trusted witness cosignature key (repeatable)", collect, [])
    .option("--k <n>", "cosignatures required from distinct trusted witnesses", nonNegativeInt)
    .action((file: string, opts: { logKey: string; witness: string[]; k?: number }) => {
      const text = readFileSync(file, "utf8");
      const k = opts.k ?? opts.witness.length;
      const v = verifyReceipt(text, { logKey: opts.logKey, witnesses: opts.witness, k });
      if (!v.ok) {
        console.error(`receipt REJECTED: ${v.reason}: ${v.message}`);
        process.exitCode = 1;
        return;
      }
      console.log(
        `receipt OK: leaf ${v.index} (${v.event.type} at ${new Date(v.event.time).toISOString()}) in ` +
          `${v.checkpoint.origin} size ${v.checkpoint.size}, ${v.cosignatures.length} cosignature(s)`,
      );
      console.log(JSON.stringify(v.event, null, 2));
    });
}
