/**
 * `relink consent commit <consents.csv>`: zero-knowledge consents (ADR 0050). Adds the rows to the member's
 * consent book (kept in its home, never sent), and logs the book's Poseidon root at the hub. From then on
 * the hub requires a proof per tag on this member's lookups, and `relink match` makes them.
 */
import { ConsentBook, MemberNode, parseConsentRows } from "@relink/sdk";
import type { Command } from "commander";
import { readConsentBook, saveConsentBook } from "../consent-book.ts";
import { readCsv } from "../csv.ts";
import { DEFAULT_HOME, readHome, secretsOf } from "../home.ts";
import { progressReporter } from "../progress.ts";
import { checkReceipts, reportRejected, run } from "./shared.ts";

export function register(program: Command): void {
  const consent = program.commands.find((c) => c.name() === "consent");
  if (!consent) throw new Error("register the member commands first");
  consent
    .command("commit")
    .description("commit consents for zero-knowledge lookups: the hub logs a root, never the consents")
    .argument("<consents.csv>", "same columns as `consent import`")
    .option("--home <dir>", "member node directory", DEFAULT_HOME)
    .option("--no-progress", "no progress output")
    .option("--errors <file>", "write rejected rows (row, field, reason, message) to this CSV")
    .option("--json", "print the result as JSON")
    .action(
      run(
        async (file: string, opts: { home: string; progress: boolean; errors?: string; json?: boolean }) => {
          const { rows, errors } = parseConsentRows(readCsv(file), new Date());
          reportRejected(errors, opts);
          const home = readHome(opts.home);
          const book = readConsentBook(opts.home) ?? new ConsentBook();
          const node = await MemberNode.connect({
            hubUrl: home.hubUrl,
            secrets: secretsOf(home),
            onProgress: progressReporter(opts.progress),
            // Committing proves nothing: no prover is started.
            consentProofs: { book, prover: { proveAll: async () => [] } },
          });
          const r = await node.commitConsents(rows);
          saveConsentBook(opts.home, book);
          const summary = {
            rows: rows.length,
            rejected: errors.length,
            added: r.added,
            consents: r.size,
            committed: r.committed,
            receipts: checkReceipts([r.receipt], home.logKey),
          };
          console.log(
            opts.json
              ? JSON.stringify(summary)
              : `consent book: ${r.added} new of ${r.size} consent(s); root ${r.committed ? "committed to the log" : "already logged"}; ${summary.receipts}`,
          );
        },
      ),
    );
}
