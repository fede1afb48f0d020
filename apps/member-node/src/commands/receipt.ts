/** `relink receipt verify <file>`: checks a receipt offline against the log key and the witnesses. */
import { readFileSync } from "node:fs";
import { verifyReceipt } from "@relink/tlog";
import type { Command } from "commander";
import { UserError } from "../errors.ts";
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
    .option("--json", "print the verdict and the event as JSON")
    .option("--quiet", "print nothing when the receipt verifies")
    .action(
      (
        file: string,
        opts: { logKey: string; witness: string[]; k?: number; json?: boolean; quiet?: boolean },
      ) => {
        let text: string;
        try {
          text = readFileSync(file, "utf8");
        } catch (error) {
          throw new UserError(
            `${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read"}`,
          );
        }
        const k = opts.k ?? opts.witness.length;
        const v = verifyReceipt(text, { logKey: opts.logKey, witnesses: opts.witness, k });
        if (!v.ok) {
          if (opts.json) console.log(JSON.stringify({ ok: false, reason: v.reason, message: v.message }));
          console.error(`receipt REJECTED: ${v.reason}: ${v.message}`);
          process.exitCode = 1;
          return;
        }
        if (opts.json) {
          console.log(
            JSON.stringify({
              ok: true,
              index: String(v.index),
              origin: v.checkpoint.origin,
              size: String(v.checkpoint.size),
              cosignatures: v.cosignatures.length,
              event: v.event,
            }),
          );
          return;
        }
        if (opts.quiet) return;
        console.log(
          `receipt OK: leaf ${v.index} (${v.event.type} at ${new Date(v.event.time).toISOString()}) in ` +
            `${v.checkpoint.origin} size ${v.checkpoint.size}, ${v.cosignatures.length} cosignature(s)`,
        );
        console.log(JSON.stringify(v.event, null, 2));
      },
    );
}
