/**
 * Cross-lender exposure (docs/protocol/exposure-he.md, "Member side"):
 *   relink exposure register book.csv          register the book's subjects (tags only) as a lender
 *   relink serve --book book.csv               the lender's daemon: answers exposure tasks until SIGINT/SIGTERM
 *   relink exposure applicants.csv --purpose P --out exposure.csv    per-applicant exposure elsewhere
 *   relink exposure portfolio.csv --aggregate  portfolio totals with the hub's noise
 * Exit codes: 0 done; 1 failed (or the answer could not be decrypted — the message says why); 3 done, but some
 * input rows were rejected (listed on stderr and, with --errors, in a CSV).
 */
import {
  AGGREGATE_SLOTS,
  EXPOSURE_FEATURES,
  type ExposureFeature,
  OUTSTANDING_LIMB_BITS,
  PURPOSES,
  type Purpose,
} from "@relink/protocol";
import {
  createExposureClient,
  type ExposureBook,
  type ExposureClient,
  type ExposureQueryResult,
  ensureMaskKey,
  MemberNode,
  parseExposureBook,
  parseExposureSubjects,
  queryExposure,
  registerExposureBook,
  serveExposure,
} from "@relink/sdk";
import type { Command } from "commander";
import { readCsv, writeCsv } from "../csv.ts";
import {
  DEFAULT_HOME,
  fileHeKeyStore,
  readHome,
  readMaskKey,
  readRegisteredTags,
  saveMaskKey,
  saveRegisteredTags,
  secretsOf,
} from "../home.ts";
import { progressReporter } from "../progress.ts";
import { nonNegativeInt } from "./options.ts";
import { checkReceipts, purposeOption, reportRejected, run } from "./shared.ts";

interface Common {
  home: string;
  progress: boolean;
  errors?: string;
  json?: boolean;
}

async function connect(
  opts: Common,
): Promise<{ node: MemberNode; client: ExposureClient; logKey: string | undefined }> {
  const home = readHome(opts.home);
  const secrets = secretsOf(home);
  const node = await MemberNode.connect({
    hubUrl: home.hubUrl,
    secrets,
    onProgress: progressReporter(opts.progress),
  });
  // Plain signed tRPC calls until the hub's AppRouter type has `exposure` (see @relink/sdk exposure-client).
  const client = createExposureClient({
    hubUrl: home.hubUrl,
    signer: secrets.signer,
    networkId: node.network.epoch.networkId,
  });
  return { node, client, logKey: home.logKey };
}

function common(cmd: Command): Command {
  return cmd
    .option("--home <dir>", "member node directory", DEFAULT_HOME)
    .option("--no-progress", "no progress output")
    .option("--errors <file>", "write rejected rows (row, field, reason, message) to this CSV")
    .option("--json", "print the result as JSON");
}

const BOOK_HELP =
  "columns: id_number, loan_id, status (active|closed), outstanding, days_past_due, opened_on";

function loadBook(file: string, opts: Common): { book: ExposureBook; rejected: number } {
  const { book, errors } = parseExposureBook(readCsv(file), new Date());
  reportRejected(errors, opts);
  return { book, rejected: errors.length };
}

/** Mask key (created and registered once) and the book's subjects registered; returns the lender's book. */
async function registerAsLender(opts: Common, book: ExposureBook) {
  const { node, client, logKey } = await connect(opts);
  const mask = await ensureMaskKey(client, readMaskKey(opts.home), (s) => saveMaskKey(opts.home, s));
  const r = await registerExposureBook(node, client, book, { previousTags: readRegisteredTags(opts.home) });
  saveRegisteredTags(opts.home, r.tags);
  return { node, client, logKey, mask, ...r };
}

const FEATURE_COLUMNS = [...EXPOSURE_FEATURES];

function noiseScales(scales: readonly number[]): Record<ExposureFeature, number> {
  const at = (slot: (typeof AGGREGATE_SLOTS)[number]) => scales[AGGREGATE_SLOTS.indexOf(slot)] ?? 0;
  const limb = 2 ** OUTSTANDING_LIMB_BITS;
  return Object.fromEntries(
    EXPOSURE_FEATURES.map((f) => [
      f,
      f === "outstanding"
        ? at("outstanding_lo") + at("outstanding_mid") * limb + at("outstanding_hi") * limb * limb
        : at(f as (typeof AGGREGATE_SLOTS)[number]),
    ]),
  ) as Record<ExposureFeature, number>;
}

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
    .option("--out <file>", "write the results as CSV")
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
          opts: Common & {
            purpose: Purpose;
            aggregate?: boolean;
            out?: string;
            refColumn: string;
            case: string;
          },
        ) => {
          const mode = opts.aggregate ? "aggregate" : "subjects";
          const { rows, errors } = parseExposureSubjects(readCsv(file), new Date(), {
            refColumn: opts.refColumn,
            requireRef: !opts.aggregate,
          });
          reportRejected(errors, opts);
          if (rows.length === 0) throw new Error("no valid rows to ask about");
          const { node, client, logKey } = await connect(opts);
          const r = await queryExposure(
            node,
            rows.map((x) => x.subject),
            { client, purpose: opts.purpose, mode, keyStore: fileHeKeyStore(opts.home), caseId: opts.case },
          );
          const receipts = checkReceipts(r.receipt ? [r.receipt] : [], logKey, opts.home);
          if (!r.decrypted) process.exitCode = 1;
          const counts = { ok: 0, suppressed: 0, no_consent: 0, budget_exhausted: 0, missing: 0 };
          for (const s of r.subjects) counts[s.status]++;
          if (mode === "subjects") {
            const bySubject = new Map(r.subjects.map((s) => [s.subject, s]));
            const out = rows.map((x) => {
              const s = bySubject.get(x.subject)!;
              return { [opts.refColumn]: x.ref, status: s.status, ...(s.features ?? {}) };
            });
            if (opts.out) writeCsv(opts.out, [opts.refColumn, "status", ...FEATURE_COLUMNS], out);
            if (opts.json) {
              const { subjects: _s, receipt: _r, ...meta } = r;
              console.log(JSON.stringify({ ...meta, counts, receipts, results: out }));
            } else {
              console.log(
                `${rows.length} applicant(s): ${counts.ok} answered, ${counts.suppressed} suppressed (fewer than k lenders), ` +
                  `${counts.no_consent} without consent, ${counts.budget_exhausted} over budget` +
                  `${counts.missing ? `, ${counts.missing} missing from the answer` : ""}; ${summary(r)}` +
                  `${opts.out && r.decrypted ? `; written to ${opts.out}` : ""}; ${receipts}`,
              );
            }
          } else {
            const totals = r.aggregate?.totals;
            const scales = r.aggregate?.noise ? noiseScales(r.aggregate.noise.scales) : undefined;
            const table = FEATURE_COLUMNS.map((f) => ({
              feature: f,
              total: totals?.[f] ?? "",
              noise_scale: scales?.[f] ?? "",
            }));
            if (opts.out && totals) writeCsv(opts.out, ["feature", "total", "noise_scale"], table);
            if (opts.json) {
              const { subjects: _s, receipt: _r, ...meta } = r;
              console.log(JSON.stringify({ ...meta, counts, receipts }));
            } else {
              console.log(
                `portfolio of ${r.subjects.length} subject(s): ${counts.ok} answered, ${counts.suppressed} suppressed, ` +
                  `${counts.no_consent} without consent, ${counts.budget_exhausted} over budget; ${summary(r)}; ${receipts}`,
              );
              if (totals) {
                console.log(
                  `totals over the answered subjects at the responding lenders, with discrete Laplace noise` +
                    (r.aggregate?.noise ? ` (ε = ${r.aggregate.noise.epsilon} per feature)` : "") +
                    ":",
                );
                for (const row of table)
                  console.log(
                    `  ${row.feature.padEnd(16)} ${String(row.total).padStart(16)}${scales ? `   noise scale ${row.noise_scale}` : ""}`,
                  );
              }
            }
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
      run(async (file: string, opts: Common) => {
        const { book, rejected } = loadBook(file, opts);
        const r = await registerAsLender(opts, book);
        const result = {
          loans: book.loans.length,
          subjects: r.tags.length,
          rejected,
          registered: r.registered,
          unregistered: r.unregistered,
          total: r.total ?? null,
          maskKeyRegistered: r.mask.registered,
          receipts: checkReceipts(r.receipts, r.logKey, opts.home),
        };
        console.log(
          opts.json
            ? JSON.stringify(result)
            : `registered ${r.tags.length} subject(s) from ${book.loans.length} loan(s) (${r.registered} new, ` +
                `${r.unregistered} removed); ${rejected} row error(s); ${result.receipts}`,
        );
      }),
    );

  common(program.command("serve"))
    .description("the lender's daemon: answers exposure requests from the hub until SIGINT/SIGTERM")
    .requiredOption("--book <book.csv>", BOOK_HELP)
    .option("--poll-wait-ms <ms>", "long-poll wait", nonNegativeInt, 20_000)
    .option("--min-participants <n>", "refuse rounds with fewer masking lenders", nonNegativeInt, 3)
    .action(
      run(async (opts: Common & { book: string; pollWaitMs: number; minParticipants: number }) => {
        const line = (o: Record<string, unknown>) =>
          console.log(JSON.stringify({ time: new Date().toISOString(), ...o }));
        const { book, rejected } = loadBook(opts.book, opts);
        line({ event: "book.loaded", loans: book.loans.length, subjects: book.subjects.length, rejected });
        const r = await registerAsLender(opts, book);
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
