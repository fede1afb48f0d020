/**
 * Cross-lender exposure (docs/protocol/exposure-he.md, "Member side"):
 *   relink exposure register book.csv          register the book's subjects (tags only) as a lender
 *   relink serve --book book.csv               the lender's daemon: answers exposure tasks until SIGINT/SIGTERM
 *   relink exposure applicants.csv --purpose P --out exposure.csv    per-applicant exposure elsewhere
 *   relink exposure portfolio.csv --aggregate  portfolio totals with the hub's noise
 * Exit codes: 0 done; 1 failed (or the answer could not be decrypted — the message says why); 3 done, but some
 * input rows were rejected (listed on stderr and, with --errors, in a CSV).
 */
import { writeFileSync } from "node:fs";
import { EXPOSURE_FEATURES, PURPOSES, type Purpose } from "@relink/protocol";
import {
  consentProofs,
  createExposureClient,
  EXPOSURE_BOOK_TABLE,
  type ExposureBook,
  type ExposureClient,
  type ExposureQueryResult,
  ensureMaskKey,
  exposureSubjectsTable,
  FEATURE_UNITS,
  lazyProverPool,
  MemberNode,
  parseExposureBook,
  parseExposureSubjects,
  presentAggregate,
  queryExposure,
  registerExposureBook,
  serveExposure,
} from "@relink/sdk";
import type { Command } from "commander";
import { readConsentBook } from "../consent-book.ts";
import { writeCsv } from "../csv.ts";
import { UserError } from "../errors.ts";
import {
  fileHeKeyStore,
  readHome,
  readMaskKey,
  readRegisteredTags,
  saveMaskKey,
  saveRegisteredTags,
  secretsOf,
} from "../home.ts";
import { nonNegativeInt } from "./options.ts";
import { bundleBeside } from "./receipt.ts";
import {
  type CommonFlags,
  type Ctx,
  checkReceipts,
  common,
  context,
  hubUrlOf,
  purposeOption,
  readInput,
  reportRejected,
  run,
  saveReceipts,
} from "./shared.ts";

async function connect(
  ctx: Ctx,
): Promise<{ node: MemberNode; client: ExposureClient; logKey: string | undefined }> {
  const home = readHome(ctx.home);
  const secrets = secretsOf(home);
  const hubUrl = hubUrlOf(ctx, home.hubUrl);
  const node = await MemberNode.connect({ hubUrl, secrets, onProgress: ctx.onProgress });
  // Plain signed tRPC calls until the hub's AppRouter type has `exposure` (see @relink/sdk exposure-client).
  const client = createExposureClient({
    hubUrl,
    signer: secrets.signer,
    networkId: node.network.epoch.networkId,
  });
  return { node, client, logKey: home.logKey };
}

const BOOK_HELP =
  "columns: id_number (身份证号), loan_id (借据号), status (active|closed), outstanding (whole CNY), " +
  "days_past_due, opened_on";

function loadBook(file: string, ctx: Ctx): { book: ExposureBook; rejected: number } {
  const table = readInput(file, EXPOSURE_BOOK_TABLE, ctx);
  const { book, errors } = parseExposureBook(table.records, new Date(), table.rows);
  const all = [...table.errors, ...errors];
  reportRejected(all, ctx);
  return { book, rejected: new Set(all.map((e) => e.row)).size };
}

/** Mask key (created and registered once) and the book's subjects registered; returns the lender's book. */
async function registerAsLender(ctx: Ctx, book: ExposureBook) {
  const { node, client, logKey } = await connect(ctx);
  const mask = await ensureMaskKey(client, readMaskKey(ctx.home), (s) => saveMaskKey(ctx.home, s));
  const r = await registerExposureBook(node, client, book, { previousTags: readRegisteredTags(ctx.home) });
  saveRegisteredTags(ctx.home, r.tags);
  return { node, client, logKey, mask, ...r };
}

const FEATURE_COLUMNS = [...EXPOSURE_FEATURES];
const AGGREGATE_COLUMNS = ["feature", "total", "unit", "ci95_low", "ci95_high", "noise_scale"] as const;

/** What each feature counts (CSV and JSON carry the same canonical feature names). */
const unitsOf = () => Object.fromEntries(FEATURE_COLUMNS.map((f) => [f, FEATURE_UNITS[f].unit]));

function summary(r: ExposureQueryResult): string {
  return `${r.responded} of ${r.invited} lender(s) responded${r.rounds > 1 ? ` (${r.rounds} rounds)` : ""}${r.cached ? "; cached answer of an identical query" : ""}`;
}

export function register(program: Command): void {
  const exposure = program
    .command("exposure")
    .description(
      "cross-lender exposure: ask about applicants or a portfolio, or register your book as a lender",
    );
  // `relink exposure applicants.csv …` runs the default subcommand `query`; the group itself has no options,
  // so every option reaches the subcommand.
  common(exposure.command("query", { isDefault: true }))
    .description("exposure of applicants or a portfolio at other lenders (totals across lenders only)")
    .argument("<subjects.csv>", "columns: id_number and a reference column (applicant_ref)")
    .option(
      "--purpose <purpose>",
      `one of ${PURPOSES.join(", ")}`,
      purposeOption,
      "credit_assessment" as Purpose,
    )
    .option(
      "--aggregate",
      "portfolio totals (with the hub's differential-privacy noise) instead of per subject",
    )
    .option("--out <file>", "write the results as CSV (UTF-8 with BOM, Excel-safe)")
    .option("--ref-column <name>", "the column with your reference for each row", "applicant_ref")
    .option(
      "--case <id>",
      "your case or batch id (committed to in the audit log)",
      `exposure-${new Date().toISOString()}`,
    )
    .action(
      run(
        async (
          file: string,
          flags: CommonFlags & { purpose: Purpose; aggregate?: boolean; refColumn: string; case: string },
        ) => {
          const ctx = context(flags);
          const mode = flags.aggregate ? "aggregate" : "subjects";
          const table = readInput(file, exposureSubjectsTable(flags.refColumn, !flags.aggregate), ctx);
          const { rows, errors } = parseExposureSubjects(table.records, new Date(), {
            refColumn: flags.refColumn,
            requireRef: !flags.aggregate,
            rowNumbers: table.rows,
          });
          reportRejected([...table.errors, ...errors], ctx);
          if (rows.length === 0) throw new UserError(`${file}: no valid rows to ask about`);
          const { node, client, logKey } = await connect(ctx);
          // A committed consent book (`relink consent commit`) means exposure queries carry proofs, as
          // lookups do (ADR 0050, ADR 0047).
          const book = readConsentBook(ctx.home);
          const prover = book ? lazyProverPool() : undefined;
          let r: ExposureQueryResult;
          try {
            r = await queryExposure(
              node,
              rows.map((x) => x.subject),
              {
                client,
                purpose: flags.purpose,
                mode,
                keyStore: fileHeKeyStore(ctx.home),
                caseId: flags.case,
                ...(book && prover ? { consentProofs: consentProofs(book, prover) } : {}),
              },
            );
          } finally {
            await prover?.close();
          }
          const receipt = r.receipt ? [r.receipt] : [];
          const saved = saveReceipts(ctx.receipts, "exposure", receipt);
          // The proofs sit beside the receipt (`relink receipt verify` checks both).
          if (r.consentProofs !== undefined && saved[0]) {
            writeFileSync(bundleBeside(saved[0]), `${JSON.stringify(r.consentProofs, null, 2)}\n`, {
              mode: 0o600,
            });
          }
          const receipts = checkReceipts(receipt, logKey, ctx.home);
          if (!r.decrypted) process.exitCode = 1;
          const counts = { ok: 0, suppressed: 0, no_consent: 0, budget_exhausted: 0, missing: 0 };
          for (const s of r.subjects) counts[s.status]++;
          const { subjects: _s, receipt: _r, aggregate: _a, ...meta } = r;
          const k = r.k !== undefined ? `k = ${r.k}` : "k as the hub sets it";
          if (mode === "subjects") {
            const bySubject = new Map(r.subjects.map((s) => [s.subject, s]));
            const out = rows.map((x) => {
              const s = bySubject.get(x.subject)!;
              return { [flags.refColumn]: x.ref, status: s.status, ...(s.features ?? {}) };
            });
            if (ctx.out) writeCsv(ctx.out, [flags.refColumn, "status", ...FEATURE_COLUMNS], out, ctx.lang);
            ctx.emit(
              { ...meta, counts, receipts, receiptFiles: saved, units: unitsOf(), results: out },
              () =>
                `${rows.length} applicant(s): ${counts.ok} answered, ${counts.suppressed} suppressed (fewer than ${k} other lenders), ` +
                `${counts.no_consent} without consent, ${counts.budget_exhausted} over budget` +
                `${counts.missing ? `, ${counts.missing} missing from the answer` : ""}; ${summary(r)}` +
                `${ctx.out && r.decrypted ? `; written to ${ctx.out}` : ""}; ${receipts}`,
            );
          } else {
            const totals = r.aggregate?.totals;
            const shown = totals
              ? presentAggregate(totals, r.aggregate?.noise, { answered: r.aggregate?.answered ?? 0, k: r.k })
              : undefined;
            if (ctx.out && shown) writeCsv(ctx.out, AGGREGATE_COLUMNS, shown.figures, ctx.lang);
            ctx.emit({ ...meta, counts, receipts, receiptFiles: saved, aggregate: shown ?? null }, () => {
              const lines = [
                `portfolio of ${r.subjects.length} subject(s): ${counts.ok} answered, ${counts.suppressed} suppressed (fewer than ${k} other lenders), ` +
                  `${counts.no_consent} without consent, ${counts.budget_exhausted} over budget; ${summary(r)}; ${receipts}`,
              ];
              if (shown) {
                lines.push(
                  `totals over the ${shown.answered} answered subject(s) at the responding lenders; ${k}; ` +
                    `discrete Laplace noise${shown.epsilon !== null ? ` (ε = ${shown.epsilon} per feature)` : ""}, ` +
                    "negative totals shown as 0; 95 % interval from the noise alone:",
                );
                lines.push(
                  `  ${"feature".padEnd(14)} ${"total".padStart(16)} ${"unit".padEnd(8)} ${"95 % interval".padEnd(33)} noise scale`,
                );
                for (const f of shown.figures)
                  lines.push(
                    `  ${f.feature.padEnd(14)} ${String(f.total).padStart(16)} ${f.unit.padEnd(8)} ${`[${f.ci95_low}, ${f.ci95_high}]`.padEnd(33)} ${f.noise_scale}`,
                  );
              }
              return lines.join("\n");
            });
          }
          if (!r.decrypted) console.error(`relink: cannot decrypt: ${r.undecryptable}`);
        },
      ),
    );

  common(exposure.command("register"))
    .description(
      "register your exposure book's subjects with the hub (tags of resident IDs only) as a lender",
    )
    .argument("<book.csv>", BOOK_HELP)
    .action(
      run(async (file: string, flags: CommonFlags) => {
        const ctx = context(flags);
        const { book, rejected } = loadBook(file, ctx);
        const r = await registerAsLender(ctx, book);
        const saved = saveReceipts(ctx.receipts, "exposure-register", r.receipts);
        const result = {
          loans: book.loans.length,
          subjects: r.tags.length,
          rejected,
          registered: r.registered,
          unregistered: r.unregistered,
          total: r.total ?? null,
          maskKeyRegistered: r.mask.registered,
          receipts: checkReceipts(r.receipts, r.logKey, ctx.home),
          receiptFiles: saved,
        };
        ctx.emit(
          result,
          () =>
            `registered ${r.tags.length} subject(s) from ${book.loans.length} loan(s) (${r.registered} new, ` +
            `${r.unregistered} removed); ${rejected} row(s) rejected; ${result.receipts}`,
        );
      }),
    );

  common(program.command("serve"))
    .description("the lender's daemon: answers exposure requests from the hub until SIGINT/SIGTERM")
    .requiredOption("--book <book.csv>", BOOK_HELP)
    .option(
      "--poll-wait-ms <ms>",
      "how long one task stream (or long poll) stays open",
      nonNegativeInt,
      20_000,
    )
    .option("--min-participants <n>", "refuse rounds with fewer masking lenders", nonNegativeInt, 3)
    .action(
      run(async (flags: CommonFlags & { book: string; pollWaitMs: number; minParticipants: number }) => {
        const ctx = context(flags);
        const opts = flags;
        const line = (o: Record<string, unknown>) =>
          console.log(JSON.stringify({ time: new Date().toISOString(), ...o }));
        const { book, rejected } = loadBook(opts.book, ctx);
        line({ event: "book.loaded", loans: book.loans.length, subjects: book.subjects.length, rejected });
        const r = await registerAsLender(ctx, book);
        line({
          event: "book.registered",
          subjects: r.tags.length,
          registered: r.registered,
          unregistered: r.unregistered,
        });
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        try {
          await serveExposure(r.lender, {
            client: r.client,
            maskSecret: r.mask.secretKey,
            signal: controller.signal,
            pollWaitMs: opts.pollWaitMs,
            minParticipants: opts.minParticipants,
            log: line,
          });
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
      }),
    );
}
