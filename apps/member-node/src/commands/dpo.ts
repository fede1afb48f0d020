/**
 * `relink dpo …`: the data-protection officer's commands (ADRs 0040–0042). Requests are signed with the
 * DPO's own Ed25519 key (a file with the hex secret key, 0600): a member DPO's key is registered by the
 * network admin (`relink admin dpo-key`), a network DPO's is listed in the hub's network config.
 *
 *   keygen          create a DPO key file; prints the public key
 *   subject-report  PIPL Art. 45: every ledger entry about a person (tags computed through the key holders
 *                   with the member node's key: metered there), verified offline, as JSON, CSV and HTML
 *   consent-replay  was the query of leaf N covered by a consent at query time?
 *   export          PIPL Art. 54–56: a signed export pack of the member's ledger slice, with a verifier
 *   rotate-key      a member DPO replaces its key (ADR 0037): new key made here, proved to the hub, the hub
 *                   switches at once; the old key is kept beside the key file (F.retired-<fingerprint>, 0600).
 *                   The new key is staged in F.pending first, so a run that lost the hub's answer is finished
 *                   by the next run (it asks the hub whether it knows the staged key).
 *
 * Exit codes: 0 done and verified; 1 failed or a verification failed (the reason is printed, nothing
 * unverified is presented as verified).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  type ExportSlice,
  ed25519SignerFor,
  fromBase64Url,
  fromHex,
  keyFingerprint,
  type SubjectReport,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import {
  createHubClient,
  ed25519Signer,
  MemberNode,
  parseDebtorRows,
  rotateDpoKey,
  wireError,
} from "@relink/sdk";
import { verifyReceipt, verifySubjectReport } from "@relink/tlog";
import type { Command } from "commander";
import { reportCsv, reportHtml, reportRows } from "../dpo-report.ts";
import { UserError } from "../errors.ts";
import { writeExportPack } from "../export-pack.ts";
import { DEFAULT_HOME, readCases, readHome, secretsOf } from "../home.ts";
import { progressReporter } from "../progress.ts";
import { nonNegativeInt, writeFileAtomic } from "./options.ts";
import { hubKnowsKey, run } from "./shared.ts";

interface DpoCommon {
  home: string;
  dpoKey: string;
  hub?: string;
  logKey?: string;
  json?: boolean;
}

function readDpoKey(file: string): Uint8Array {
  const hex = readFileSync(file, "utf8").trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file}: expected a hex Ed25519 secret key`);
  return fromHex(hex);
}

function dpoClient(opts: DpoCommon) {
  const home = readHome(opts.home);
  const secret = readDpoKey(opts.dpoKey);
  const logKey = opts.logKey ?? home.logKey;
  if (!logKey) throw new Error("no log key: pin one with `relink init --log-key` or pass --log-key");
  return {
    home,
    secret,
    logKey,
    client: createHubClient({ url: opts.hub ?? home.hubUrl, signer: ed25519Signer(secret) }),
  };
}

function common(cmd: Command): Command {
  return cmd
    .option("--home <dir>", "member node directory (hub URL, pinned log key, case register)", DEFAULT_HOME)
    .requiredOption("--dpo-key <file>", "the DPO's key file (relink dpo keygen)")
    .option("--hub <url>", "the hub's URL (default: the home's)")
    .option("--log-key <vkey>", "the log's verifier key (default: the home's pinned key)")
    .option("--json", "print the result as JSON");
}

/** The member's commitment key when the caller is a member DPO (the network DPO has none). */
async function memberKeyOf(client: ReturnType<typeof createHubClient>) {
  try {
    const k = await client.dpo.commitmentKey.query();
    return { memberId: k.memberId, key: fromBase64Url(k.key) };
  } catch (error) {
    if (wireError(error)?.code === "FORBIDDEN") return undefined;
    throw error;
  }
}

export function register(program: Command): void {
  const dpo = program
    .command("dpo")
    .description("data-protection officer: subject access, consent replay, export");

  dpo
    .command("keygen")
    .description("create a DPO key file; prints the public key for `relink admin dpo-key` or the hub config")
    .requiredOption("--out <file>", "where to write the secret key (refuses to overwrite)")
    .action((opts: { out: string }) => {
      if (existsSync(opts.out)) throw new Error(`${opts.out} exists`);
      const secret = ed25519.utils.randomSecretKey();
      writeFileSync(opts.out, `${toHex(secret)}\n`, { mode: 0o600, flag: "wx" });
      chmodSync(opts.out, 0o600);
      console.log(JSON.stringify({ dpoPublicKey: toBase64Url(ed25519.getPublicKey(secret)) }));
    });

  common(dpo.command("subject-report"))
    .description(
      "PIPL Art. 45: every ledger entry about one person, verified, as JSON, CSV and a printable page",
    )
    .requiredOption("--request <ref>", "the subject's request reference (committed to in the log)")
    .option("--id-number <id>", "the subject's resident ID")
    .option("--phone <phone>", "the subject's mobile number")
    .option("--name <name>", "the subject's name (with --dob)")
    .option("--dob <date>", "the subject's date of birth, YYYY-MM-DD (with --name)")
    .requiredOption("--out <dir>", "where to write report.json, report.csv and report.html")
    .option("--no-progress", "no progress output")
    .action(
      run(
        async (
          opts: DpoCommon & {
            request: string;
            idNumber?: string;
            phone?: string;
            name?: string;
            dob?: string;
            out: string;
            progress: boolean;
          },
        ) => {
          const { home, logKey, client } = dpoClient(opts);
          const { rows, errors } = parseDebtorRows(
            [
              {
                debtor_ref: "subject",
                id_number: opts.idNumber ?? "",
                subject_phone: opts.phone ?? "",
                name: opts.name ?? "",
                dob: opts.dob ?? "",
              },
            ],
            new Date(),
          );
          if (errors.length > 0 || rows.length === 0) {
            for (const e of errors) console.error(`${e.field}: ${e.reason}: ${e.message}`);
            throw new Error("no valid subject identifier (--id-number, --phone, or --name with --dob)");
          }
          const identifiers = rows[0]!.subjects;
          // The tags, through the key holders with the member node's key: metered there like any lookup.
          const node = await MemberNode.connect({
            hubUrl: opts.hub ?? home.hubUrl,
            secrets: secretsOf(home),
            onProgress: progressReporter(opts.progress),
          });
          const tagged = await node.tags(identifiers);
          const tags = identifiers.map((id) => tagged.get(id)!.tag);
          // (tRPC types `z.unknown()` members as optional; the schema requires every receipt.)
          const report = (await client.dpo.subjectReport.mutate({
            tags: tags.map(toBase64Url),
            requestReference: opts.request,
          })) as SubjectReport;
          const memberKey = await memberKeyOf(client);
          const v = verifySubjectReport(report, {
            logKey,
            witnesses: [],
            k: 0,
            tags,
            ...(memberKey ? { memberKey } : {}),
          });
          if (!v.ok)
            for (const p of v.problems) console.error(`REPORT REJECTED: entry ${p.entry}: ${p.reason}`);
          const rowsOut = reportRows(report, readCases(opts.home), v.ok);
          mkdirSync(opts.out, { recursive: true, mode: 0o700 });
          writeFileSync(join(opts.out, "report.json"), `${JSON.stringify(report, null, 2)}\n`, {
            mode: 0o600,
          });
          writeFileSync(join(opts.out, "report.csv"), reportCsv(rowsOut), { mode: 0o600 });
          writeFileSync(join(opts.out, "report.html"), reportHtml(report, rowsOut, v.ok), { mode: 0o600 });
          const members = new Set(report.entries.map((e) => e.member?.slug ?? "(network)"));
          const summary = {
            entries: report.entries.length,
            members: [...members],
            verified: v.ok,
            out: opts.out,
          };
          console.log(
            opts.json
              ? JSON.stringify(summary)
              : `${report.entries.length} ledger entr${report.entries.length === 1 ? "y" : "ies"} about the subject ` +
                  `(${[...members].join(", ") || "none"}); ${v.ok ? "every receipt verified" : "VERIFICATION FAILED"}; ` +
                  `written to ${opts.out}/report.{json,csv,html}`,
          );
          if (!v.ok) process.exitCode = 1;
        },
      ),
    );

  common(dpo.command("consent-replay"))
    .description("was the query in this leaf covered by a consent at query time? (from the log)")
    .argument("<leaf-index>", "the query's audit leaf index (from its receipt)", nonNegativeInt)
    .action(
      run(async (index: number, opts: DpoCommon) => {
        const { logKey, client } = dpoClient(opts);
        const r = await client.dpo.consentReplay.query({ index });
        const v = verifyReceipt(r.receipt, { logKey, witnesses: [], k: 0 });
        if (!v.ok || v.index !== BigInt(index) || v.event.type !== r.event) {
          console.error(
            `receipt REJECTED: ${v.ok ? "not the leaf asked about" : `${v.reason}: ${v.message}`}`,
          );
          process.exitCode = 1;
          return;
        }
        if (opts.json) {
          console.log(JSON.stringify({ ...r, receipt: undefined, receiptVerified: true }));
          return;
        }
        console.log(
          `leaf ${r.index}: ${r.event} by ${r.member?.slug ?? "?"} at ${r.timeUtc8}, purpose ${r.purpose}; ` +
            `${r.covered} of ${r.subjects} subject(s) covered by a consent at query time; receipt verified` +
            (r.consistentWithLeaf === false ? "; DOES NOT MATCH the consents the leaf lists" : ""),
        );
        for (const c of r.consents) {
          console.log(
            `  subject #${c.position}: ${c.reference} (${c.purpose}, ${c.legalBasis}, registered ${c.registeredAt}` +
              `${c.revokedAt ? `, revoked ${c.revokedAt}` : ""}): ` +
              (c.coveredAtQueryTime ? "COVERED at query time" : `not covered (${c.reasons.join(", ")})`),
          );
        }
        if (r.consistentWithLeaf === false) process.exitCode = 1;
      }),
    );

  common(dpo.command("export"))
    .description("PIPL Art. 54–56: a signed export pack of the ledger slice, verifiable offline (verify.mjs)")
    .requiredOption("--from <index>", "first leaf index", nonNegativeInt)
    .option("--to <size>", "checkpoint size to end at (default: the latest)", nonNegativeInt)
    .requiredOption("--pipia <ref>", "the member's PIPIA (personal-information impact assessment) reference")
    .requiredOption("--out <dir>", "a new (or empty) directory for the pack")
    .action(
      run(async (opts: DpoCommon & { from: number; to?: number; pipia: string; out: string }) => {
        const { logKey, secret, client } = dpoClient(opts);
        const slice = (await client.dpo.exportSlice.mutate({
          from: opts.from,
          ...(opts.to !== undefined ? { to: opts.to } : {}),
          pipiaReference: opts.pipia,
        })) as ExportSlice;
        const pack = await writeExportPack(opts.out, {
          slice,
          pipiaReference: opts.pipia,
          logKey,
          signerSecretKey: secret,
          createdAt: new Date(),
        });
        const summary = {
          out: opts.out,
          leaves: slice.leaves.length,
          from: slice.from,
          to: slice.to,
          ...pack,
        };
        console.log(
          opts.json
            ? JSON.stringify(summary)
            : `export pack of ${slice.leaves.length} leaves [${slice.from}, ${slice.to}) written to ${opts.out}; ` +
                `signed by ${pack.signerPublicKey}; check it with: cd ${opts.out} && node verify.mjs --signer-key ${pack.signerPublicKey} --log-key '${logKey}'`,
        );
      }),
    );

  common(dpo.command("rotate-key"))
    .description(
      "member DPO: replace this DPO key — a new key made here, the hub switches at once and refuses the old " +
        "one (kept as <key file>.retired-<fingerprint>)",
    )
    .action(
      run(async (opts: DpoCommon) => {
        const { home, secret, logKey } = dpoClient(opts);
        const hubUrl = opts.hub ?? home.hubUrl;
        const pendingFile = `${opts.dpoKey}.pending`;
        const fp = (s: Uint8Array) => toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(s)));
        /** Old key kept beside the file, then the file replaced atomically, then the staged copy removed. */
        const finish = (next: Uint8Array): string => {
          const backup = `${opts.dpoKey}.retired-${fp(secret)}`;
          if (toHex(next) !== toHex(secret)) {
            writeFileAtomic(backup, `${toHex(secret)}\n`);
            writeFileAtomic(opts.dpoKey, `${toHex(next)}\n`);
          }
          rmSync(pendingFile, { force: true });
          return backup;
        };
        const print = (result: Record<string, unknown>, text: string) =>
          console.log(opts.json ? JSON.stringify(result) : text);

        if (existsSync(pendingFile)) {
          // An interrupted run: does the hub already know the staged key?
          const pending = readDpoKey(pendingFile);
          const known = await hubKnowsKey(() =>
            createHubClient({ url: hubUrl, signer: ed25519Signer(pending) }).dpo.commitmentKey.query(),
          );
          if (known) {
            const backup = finish(pending);
            print(
              { resumed: true, oldFingerprint: fp(secret), newFingerprint: fp(pending), backup },
              `finished an interrupted rotation: the hub already had the new DPO key ${fp(pending)}\nold key kept in ${backup}`,
            );
            return;
          }
          rmSync(pendingFile, { force: true });
        }

        const next = ed25519.utils.randomSecretKey();
        writeFileAtomic(pendingFile, `${toHex(next)}\n`);
        let r: Awaited<ReturnType<typeof rotateDpoKey>>;
        try {
          r = await rotateDpoKey(createHubClient({ url: hubUrl, signer: ed25519Signer(secret) }), {
            currentFingerprint: keyFingerprint("ed25519", ed25519.getPublicKey(secret)),
            newKey: ed25519SignerFor(next),
          });
        } catch (error) {
          // The hub answered: nothing changed there, the staged key goes. No answer: it may have switched.
          if (wireError(error)) rmSync(pendingFile, { force: true });
          else
            throw new UserError(
              `${(error as Error).message}; the hub may or may not have switched keys — the new key is kept in ` +
                `${pendingFile}: run 'relink dpo rotate-key' again to finish or start over`,
            );
          throw error;
        }
        const backup = finish(next);
        const v = verifyReceipt(r.receipt, { logKey, witnesses: [], k: 0 });
        const result = {
          resumed: false,
          memberId: r.memberId,
          oldFingerprint: r.oldFingerprint,
          newFingerprint: r.newFingerprint,
          publicKey: toBase64Url(ed25519.getPublicKey(next)),
          rotatedAt: r.rotatedAt,
          backup,
          receipt: v.ok ? `verified (leaf ${v.index})` : `REJECTED: ${v.reason}`,
        };
        print(
          result,
          `DPO key rotated at ${r.rotatedAt}: ${r.oldFingerprint} → ${r.newFingerprint}\n` +
            `the hub refuses the old key from now on; old key kept in ${backup}\nreceipt ${result.receipt}`,
        );
        if (!v.ok) process.exitCode = 1;
      }),
    );
}
