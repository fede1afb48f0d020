/**
 * `relink consent commit <consents.csv>`: zero-knowledge consents (ADR 0050). Adds the rows to the member's
 * consent book (kept in its home, never sent), and logs the book's Poseidon root at the hub. From then on
 * the hub requires a proof per tag on this member's lookups, and `relink match` makes them.
 */
import { CONSENT_TABLE, ConsentBook, consentProofs, MemberNode, parseConsentRows } from "@relink/sdk";
import type { Command } from "commander";
import { readConsentBook, saveConsentBook } from "../consent-book.ts";
import { readHome, secretsOf } from "../home.ts";
import { type CommonFlags, checkReceipts, common, context, hubUrlOf, readRows, run } from "./shared.ts";

export function register(program: Command): void {
  const consent = program.commands.find((c) => c.name() === "consent");
  if (!consent) throw new Error("register the member commands first");
  common(consent.command("commit"))
    .description("commit consents for zero-knowledge lookups: the hub logs a root, never the consents")
    .argument("<consents.csv>", "same columns as `consent import`")
    .action(
      run(async (file: string, flags: CommonFlags) => {
        const ctx = context(flags);
        const { rows, table } = readRows(file, CONSENT_TABLE, parseConsentRows, ctx, "commit");
        const home = readHome(ctx.home);
        const book = readConsentBook(ctx.home) ?? new ConsentBook();
        const node = await MemberNode.connect({
          hubUrl: hubUrlOf(ctx, home.hubUrl),
          secrets: secretsOf(home),
          onProgress: ctx.onProgress,
          // Committing proves nothing: no prover is started.
          consentProofs: consentProofs(book, { proveAll: async () => [] }),
        });
        const r = await node.commitConsents(rows);
        saveConsentBook(ctx.home, book);
        const summary = {
          rows: table.dataRows,
          rejected: table.dataRows - rows.length,
          added: r.added,
          consents: r.size,
          committed: r.committed,
          receipts: checkReceipts([r.receipt], home.logKey),
        };
        ctx.emit(
          summary,
          () =>
            `consent book: ${r.added} new of ${r.size} consent(s); root ${r.committed ? "committed to the log" : "already logged"}; ${summary.receipts}`,
        );
      }),
    );
}
