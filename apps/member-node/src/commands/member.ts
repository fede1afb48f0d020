/**
 * The member's everyday commands: init, publish, consent import/revoke, match, erase.
 * Exit codes (../errors.ts): 0 done; 1 failed (nothing or only part sent — the message says which);
 * 2 usage; 3 done, but some input rows were rejected (listed on stderr and, with --errors, in a CSV).
 */
import { writeFileSync } from "node:fs";
import { PURPOSES, type Purpose } from "@relink/protocol";
import { loadSodiumSymmetric } from "@relink/psi";
import { createOprfPool } from "@relink/psi/pool";
import { chooseNodeGroup } from "@relink/ristretto-native";
import {
  CONSENT_TABLE,
  CONTACT_TABLE,
  consentProofs,
  DEBTOR_TABLE,
  lazyProverPool,
  MATCH_COLUMNS,
  MemberNode,
  matchRows,
  parseConsentRows,
  parseContactRows,
  parseDebtorRows,
  pooled,
} from "@relink/sdk";
import type { Command } from "commander";
import { readConsentBook } from "../consent-book.ts";
import { writeCsv } from "../csv.ts";
import { EXIT, UserError } from "../errors.ts";
import { initHome, readHome, recordCase, secretsOf } from "../home.ts";
import { resolveSettings } from "../settings.ts";
import { collect, nonNegativeInt } from "./options.ts";
import { bundleBeside } from "./receipt.ts";
import {
  type CommonFlags,
  type Ctx,
  checkReceipts,
  common,
  context,
  hubUrlOf,
  purposeOption,
  readRows,
  run,
  saveReceipts,
} from "./shared.ts";

/**
 * From this many identifiers on, blinding and combining run on psi's worker pool, one per core, on native
 * libsodium when its addon loads (else libsodium WASM, with one line on stderr saying why: ADR 0019), and
 * tag derivation, label sealing and record ids on libsodium WASM (ADR 0043).
 */
const POOL_FROM_IDENTIFIERS = 256;

async function bulkPool(ctx: Ctx) {
  const chosen = await chooseNodeGroup({
    log: (line, fields) => {
      if (fields.reason && !ctx.quiet) process.stderr.write(`${line}\n`);
    },
  });
  return createOprfPool(chosen.pool);
}

/**
 * Connects the member node; with `identifiers` ≥ POOL_FROM_IDENTIFIERS it blinds and combines on psi's
 * worker pool. The pool's workers are unref'd while idle, so they never keep the command alive.
 */
async function connect(ctx: Ctx, identifiers = 0): Promise<{ node: MemberNode; logKey: string | undefined }> {
  const home = readHome(ctx.home);
  const pool = identifiers >= POOL_FROM_IDENTIFIERS ? await bulkPool(ctx) : undefined;
  // A committed consent book (`relink consent commit`) means lookups carry proofs (ADR 0050).
  const book = readConsentBook(ctx.home);
  const node = await MemberNode.connect({
    hubUrl: hubUrlOf(ctx, home.hubUrl),
    secrets: secretsOf(home),
    onProgress: ctx.onProgress,
    ...(pool ? { crypto: pooled(pool, await loadSodiumSymmetric()) } : {}),
    ...(book ? { consentProofs: consentProofs(book, lazyProverPool()) } : {}),
  });
  return { node, logKey: home.logKey };
}

const countSubjects = (rows: readonly { subjects: readonly string[] }[]) =>
  new Set(rows.flatMap((r) => r.subjects)).size;

export function register(program: Command): void {
  program
    .command("init")
    .description("create this member node's keys (prints the public key to give to the network admin)")
    .option("--hub <url>", "the hub's URL (env RELINK_HUB, or the config file)")
    .option("--home <dir>", "member node directory (env RELINK_HOME; default .relink/member)")
    .option("--config <file>", "settings file (env RELINK_CONFIG; default ~/.config/relink/config.json)")
    .option("--log-key <vkey>", "pin the audit log's verifier key; receipts are then verified")
    .option("--witness <vkey>", "trust this witness's cosignatures (repeatable)", collect, [])
    .option("--witness-k <n>", "cosignatures receipts must carry (default: every --witness)", nonNegativeInt)
    .option("--json", "print the result as JSON (the default output is JSON already)")
    .option("--quiet", "print nothing on success")
    .action(
      run(
        (opts: {
          hub?: string;
          home?: string;
          config?: string;
          logKey?: string;
          quiet?: boolean;
          witness: string[];
          witnessK?: number;
        }) => {
          const s = resolveSettings(opts);
          if (!s.hub) throw new UserError("init needs the hub's URL: --hub URL (or RELINK_HUB)", EXIT.usage);
          const r = initHome(s.home, s.hub, opts.logKey, {
            keys: opts.witness,
            k: opts.witnessK ?? opts.witness.length,
          });
          if (!opts.quiet)
            console.log(JSON.stringify({ home: s.home, created: r.created, signingPublicKey: r.publicKey }));
        },
      ),
    );

  common(program.command("publish"))
    .description("publish a contact book (CSV) to the encrypted directory")
    .argument(
      "<contacts.csv>",
      "columns: id_number / subject_phone / name + dob (the subject), then kind + value or the columns " +
        "phone, address, email, employer; first_seen, last_seen, source_type, confidence (Chinese headers " +
        "such as 身份证号, 手机号, 姓名, 出生日期, 地址, 邮箱, 工作单位 are accepted)",
    )
    .action(
      run(async (file: string, flags: CommonFlags) => {
        const ctx = context(flags);
        const { rows, table } = readRows(file, CONTACT_TABLE, parseContactRows, ctx, "publish");
        const { node, logKey } = await connect(ctx, countSubjects(rows));
        const r = await node.publishContacts(rows);
        const saved = saveReceipts(ctx.receipts, "publish", r.receipts);
        const summary = {
          rows: table.dataRows,
          rejected: table.dataRows - new Set(rows.map((x) => x.row)).size,
          records: r.records,
          receipts: checkReceipts(r.receipts, logKey, ctx.home),
          receiptFiles: saved,
        };
        ctx.emit(
          summary,
          () =>
            `published ${r.records} record(s) from ${summary.rows} row(s); ${summary.rejected} row(s) rejected; ${summary.receipts}`,
        );
      }),
    );

  const consent = program.command("consent").description("the consent registry");
  common(consent.command("import"))
    .description(
      "register consents / legal bases (CSV); idempotent per debtor_ref: unchanged rows are no-ops, " +
        "changed rows are logged updates, revoked references stay revoked",
    )
    .argument(
      "<consents.csv>",
      "columns: debtor_ref (参考号), id_number / subject_phone / name + dob, purpose (用途), legal_basis, " +
        "categories, granted_at, expires_at, evidence_sha256",
    )
    .action(
      run(async (file: string, flags: CommonFlags) => {
        const ctx = context(flags);
        const { rows, table } = readRows(file, CONSENT_TABLE, parseConsentRows, ctx, "import");
        const { node, logKey } = await connect(ctx, countSubjects(rows));
        const r = await node.importConsents(rows);
        const saved = saveReceipts(ctx.receipts, "consent", r.receipts);
        const summary = {
          rows: table.dataRows,
          rejected: table.dataRows - rows.length,
          registered: r.registered,
          updated: r.updated,
          unchanged: r.unchanged,
          revoked: r.revoked,
          receipts: checkReceipts(r.receipts, logKey, ctx.home),
          receiptFiles: saved,
        };
        ctx.emit(
          summary,
          () =>
            `consent records from ${rows.length} row(s): ${r.registered} registered, ${r.updated} updated, ` +
            `${r.unchanged} unchanged${r.revoked ? `, ${r.revoked} under revoked references (left revoked)` : ""}; ${summary.receipts}`,
        );
      }),
    );
  common(consent.command("revoke"), { errors: false })
    .description("revoke consents by debtor reference (every record imported under it)")
    .argument("<refs...>", "debtor references as imported (debtor_ref)")
    .action(
      run(async (refs: string[], flags: CommonFlags) => {
        const ctx = context(flags);
        const { node, logKey } = await connect(ctx);
        const r = await node.revokeConsents(refs);
        const saved = saveReceipts(ctx.receipts, "revoke", r.receipts);
        const summary = {
          revoked: r.revoked,
          alreadyRevoked: r.alreadyRevoked,
          receipts: checkReceipts(r.receipts, logKey, ctx.home),
          receiptFiles: saved,
        };
        ctx.emit(
          summary,
          () =>
            `revoked ${r.revoked} consent record(s)${r.alreadyRevoked ? `; ${r.alreadyRevoked} were already revoked` : ""}; ${summary.receipts}`,
        );
      }),
    );

  common(program.command("match"))
    .description("find fresher contacts for debtors you can no longer reach")
    .argument("<debtors.csv>", "columns: debtor_ref (参考号), id_number, subject_phone, name, dob")
    .requiredOption("--purpose <purpose>", `one of ${PURPOSES.join(", ")}`, purposeOption)
    .option("--out <file>", "write results as CSV (UTF-8 with BOM, Excel-safe)")
    .option(
      "--case <id>",
      "your case or batch id (committed to in the audit log; kept in the home's cases.jsonl)",
      `match-${new Date().toISOString()}`,
    )
    .action(
      run(async (file: string, flags: CommonFlags & { purpose: Purpose; case: string }) => {
        const ctx = context(flags);
        const { rows } = readRows(file, DEBTOR_TABLE, parseDebtorRows, ctx, "match");
        const { node, logKey } = await connect(ctx, countSubjects(rows));
        const r = await node.match(rows, flags.purpose, flags.case);
        // The case id is kept with its commitment, so the DPO can name it later (issue 11).
        recordCase(ctx.home, {
          caseId: flags.case,
          caseCommitment: r.caseCommitment,
          purpose: flags.purpose,
          at: new Date(),
        });
        const saved = saveReceipts(ctx.receipts, "match", r.receipts);
        // Each lookup's consent proofs sit beside its receipt (`relink receipt verify` checks both).
        for (const [i, bundle] of r.consentProofs.entries()) {
          if (bundle !== undefined && saved[i]) {
            writeFileSync(bundleBeside(saved[i]), `${JSON.stringify(bundle, null, 2)}\n`, { mode: 0o600 });
          }
        }
        const { nested: results, flat } = matchRows(r.results, r.conduct);
        if (ctx.out) writeCsv(ctx.out, MATCH_COLUMNS, flat, ctx.lang);
        const counts = { matched: 0, no_match: 0, no_consent: 0 };
        for (const d of r.results) counts[d.status]++;
        const receipts = checkReceipts(r.receipts, logKey, ctx.home);
        ctx.emit(
          { results, counts, unreadable: r.unreadable, conduct: r.conduct, receipts, receiptFiles: saved },
          () =>
            `${r.results.length} debtor(s): ${counts.matched} matched, ${counts.no_match} no match, ${counts.no_consent} without consent; ` +
            `${flat.filter((x) => "kind" in x).length} contact point(s)${ctx.out ? ` written to ${ctx.out}` : ""}; ${receipts}` +
            (r.unreadable > 0 ? `; ${r.unreadable} record(s) failed to open and were dropped` : ""),
        );
      }),
    );

  common(program.command("erase"))
    .description("erase this member's directory records for data subjects (CSV of subjects)")
    .argument("<subjects.csv>", "columns: debtor_ref (参考号), id_number, subject_phone, name, dob")
    .action(
      run(async (file: string, flags: CommonFlags) => {
        const ctx = context(flags);
        const { rows } = readRows(file, DEBTOR_TABLE, parseDebtorRows, ctx, "erase");
        const { node, logKey } = await connect(ctx, countSubjects(rows));
        const r = await node.erase(rows.flatMap((d) => d.subjects));
        const saved = saveReceipts(ctx.receipts, "erase", r.receipts);
        const receipts = checkReceipts(r.receipts, logKey, ctx.home);
        ctx.emit(
          { deleted: r.deleted, receipts, receiptFiles: saved },
          () => `erased ${r.deleted} record(s); ${receipts}`,
        );
      }),
    );
}
