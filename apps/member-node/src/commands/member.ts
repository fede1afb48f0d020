/**
 * The member's everyday commands: init, publish, consent import/revoke, match, erase.
 * Exit codes: 0 done; 1 failed (nothing or only part sent — the message says which); 3 done, but some input
 * rows were rejected (listed on stderr and, with --errors, in a CSV).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PURPOSES, type Purpose } from "@relink/protocol";
import { createOprfPool } from "@relink/psi/pool";
import { MemberNode, parseConsentRows, parseContactRows, parseDebtorRows, pooled } from "@relink/sdk";
import type { Command } from "commander";
import { readCsv, writeCsv } from "../csv.ts";
import { DEFAULT_HOME, initHome, readHome, secretsOf } from "../home.ts";
import { progressReporter } from "../progress.ts";
import { checkReceipts, purposeOption, reportRejected, run } from "./shared.ts";

interface Common {
  home: string;
  progress: boolean;
  errors?: string;
  json?: boolean;
}

/** From this many identifiers on, blinding and combining run on the WASM worker pool, one per core. */
const POOL_FROM_IDENTIFIERS = 256;

/**
 * Connects the member node; with `identifiers` ≥ POOL_FROM_IDENTIFIERS it blinds and combines on psi's
 * worker pool. The pool's workers are unref'd while idle, so they never keep the command alive.
 */
async function connect(
  opts: Common,
  identifiers = 0,
): Promise<{ node: MemberNode; logKey: string | undefined }> {
  const home = readHome(opts.home);
  const pool = identifiers >= POOL_FROM_IDENTIFIERS ? await createOprfPool() : undefined;
  const node = await MemberNode.connect({
    hubUrl: home.hubUrl,
    secrets: secretsOf(home),
    onProgress: progressReporter(opts.progress),
    ...(pool ? { crypto: pooled(pool) } : {}),
  });
  return { node, logKey: home.logKey };
}

const countSubjects = (rows: readonly { subjects: readonly string[] }[]) =>
  new Set(rows.flatMap((r) => r.subjects)).size;

function saveReceipts(dir: string | undefined, name: string, receipts: unknown[]): void {
  if (!dir) return;
  for (const [i, r] of receipts.entries()) {
    writeFileSync(join(dir, `${name}-${i + 1}.json`), `${JSON.stringify(r, null, 2)}\n`);
  }
}

function common(cmd: Command): Command {
  return cmd
    .option("--home <dir>", "member node directory", DEFAULT_HOME)
    .option("--no-progress", "no progress output")
    .option("--errors <file>", "write rejected rows (row, field, reason, message) to this CSV")
    .option("--receipts <dir>", "save the audit receipts as JSON files in this directory")
    .option("--json", "print the result as JSON");
}

export function register(program: Command): void {
  program
    .command("init")
    .description("create this member node's keys (prints the public key to give to the network admin)")
    .requiredOption("--hub <url>", "the hub's URL")
    .option("--home <dir>", "member node directory", DEFAULT_HOME)
    .option("--log-key <vkey>", "pin the audit log's verifier key; receipts are then verified")
    .action((opts: { hub: string; home: string; logKey?: string }) => {
      const r = initHome(opts.home, opts.hub, opts.logKey);
      console.log(JSON.stringify({ home: opts.home, created: r.created, signingPublicKey: r.publicKey }));
    });

  common(program.command("publish"))
    .description("publish a contact book (CSV) to the encrypted directory")
    .argument(
      "<contacts.csv>",
      "columns: id_number, subject_phone, name, dob, kind, value, first_seen, last_seen, source_type, confidence",
    )
    .action(
      run(async (file: string, opts: Common & { receipts?: string }) => {
        const { rows, errors } = parseContactRows(readCsv(file), new Date());
        reportRejected(errors, opts);
        const { node, logKey } = await connect(opts, countSubjects(rows));
        const r = await node.publishContacts(rows);
        saveReceipts(opts.receipts, "publish", r.receipts);
        const summary = {
          rows: rows.length,
          rejected: errors.length,
          records: r.records,
          receipts: checkReceipts(r.receipts, logKey),
        };
        console.log(
          opts.json
            ? JSON.stringify(summary)
            : `published ${r.records} record(s) from ${rows.length} row(s); ${errors.length} row error(s); ${summary.receipts}`,
        );
      }),
    );

  const consent = program.command("consent").description("the consent registry");
  common(consent.command("import"))
    .description("register consents / legal bases (CSV)")
    .argument(
      "<consents.csv>",
      "columns: debtor_ref, id_number, subject_phone, name, dob, purpose, legal_basis, categories, granted_at, expires_at, evidence_sha256",
    )
    .action(
      run(async (file: string, opts: Common & { receipts?: string }) => {
        const { rows, errors } = parseConsentRows(readCsv(file), new Date());
        reportRejected(errors, opts);
        const { node, logKey } = await connect(opts, countSubjects(rows));
        const r = await node.importConsents(rows);
        saveReceipts(opts.receipts, "consent", r.receipts);
        const summary = {
          rows: rows.length,
          rejected: errors.length,
          registered: r.registered,
          receipts: checkReceipts(r.receipts, logKey),
        };
        console.log(
          opts.json
            ? JSON.stringify(summary)
            : `registered ${r.registered} consent record(s) from ${rows.length} row(s); ${summary.receipts}`,
        );
      }),
    );
  common(consent.command("revoke"))
    .description("revoke consents by debtor reference (all of its identifiers)")
    .argument("<refs...>", "debtor references as imported")
    .option("--max-identifiers <n>", "identifiers per debtor to revoke", "3")
    .action(
      run(async (refs: string[], opts: Common & { maxIdentifiers: string }) => {
        const { node } = await connect(opts);
        const n = Number(opts.maxIdentifiers);
        const references = refs.flatMap((ref) => Array.from({ length: n }, (_, i) => `${ref}#${i + 1}`));
        const r = await node.revokeConsents(references);
        console.log(
          opts.json ? JSON.stringify({ revoked: r.revoked }) : `revoked ${r.revoked} consent record(s)`,
        );
      }),
    );

  common(program.command("match"))
    .description("find fresher contacts for debtors you can no longer reach")
    .argument("<debtors.csv>", "columns: debtor_ref, id_number, subject_phone, name, dob")
    .requiredOption("--purpose <purpose>", `one of ${PURPOSES.join(", ")}`, purposeOption)
    .option("--out <file>", "write results as CSV")
    .option(
      "--case <id>",
      "your case or batch id (committed to in the audit log)",
      `match-${new Date().toISOString()}`,
    )
    .action(
      run(
        async (
          file: string,
          opts: Common & { purpose: Purpose; out?: string; case: string; receipts?: string },
        ) => {
          const { rows, errors } = parseDebtorRows(readCsv(file), new Date());
          reportRejected(errors, opts);
          const { node, logKey } = await connect(opts, countSubjects(rows));
          const r = await node.match(rows, opts.purpose, opts.case);
          saveReceipts(opts.receipts, "match", r.receipts);
          // For the dialler: the window in which no contact may be made (GB/T 45251), on every contact row.
          const window = `${r.conduct.noContactFrom}-${r.conduct.noContactUntil} UTC${r.conduct.utcOffset}`;
          const flat = r.results.flatMap((d) =>
            d.contacts.length === 0
              ? [{ debtor_ref: d.ref, status: d.status }]
              : d.contacts.map((c) => ({
                  debtor_ref: d.ref,
                  status: d.status,
                  kind: c.kind,
                  value: c.value,
                  first_seen: c.firstSeen,
                  last_seen: c.lastSeen,
                  corroborating_members: c.corroboration,
                  confidence: c.confidence,
                  source_type: c.sourceType,
                  no_contact_window: window,
                })),
          );
          if (opts.out) {
            writeCsv(
              opts.out,
              [
                "debtor_ref",
                "status",
                "kind",
                "value",
                "first_seen",
                "last_seen",
                "corroborating_members",
                "confidence",
                "source_type",
                "no_contact_window",
              ],
              flat,
            );
          }
          const counts = { matched: 0, no_match: 0, no_consent: 0 };
          for (const d of r.results) counts[d.status]++;
          const receipts = checkReceipts(r.receipts, logKey);
          if (opts.json) {
            console.log(
              JSON.stringify({
                results: r.results,
                counts,
                unreadable: r.unreadable,
                conduct: r.conduct,
                receipts,
              }),
            );
          } else {
            console.log(
              `${r.results.length} debtor(s): ${counts.matched} matched, ${counts.no_match} no match, ${counts.no_consent} without consent; ` +
                `${flat.filter((x) => "kind" in x).length} contact point(s)${opts.out ? ` written to ${opts.out}` : ""}; ${receipts}` +
                (r.unreadable > 0 ? `; ${r.unreadable} record(s) failed to open and were dropped` : ""),
            );
          }
        },
      ),
    );

  common(program.command("erase"))
    .description("erase this member's directory records for data subjects (CSV of subjects)")
    .argument("<subjects.csv>", "columns: debtor_ref, id_number, subject_phone, name, dob")
    .action(
      run(async (file: string, opts: Common) => {
        const { rows, errors } = parseDebtorRows(readCsv(file), new Date());
        reportRejected(errors, opts);
        const { node } = await connect(opts, countSubjects(rows));
        const r = await node.erase(rows.flatMap((d) => d.subjects));
        console.log(opts.json ? JSON.stringify({ deleted: r.deleted }) : `erased ${r.deleted} record(s)`);
      }),
    );
}
