/**
 * `relink admin …`: the network operator's commands, signed with an administrator key that the hub's
 * network config lists. Keys are files holding the hex Ed25519 secret key (mode 0600).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  fromHex,
  MEMBER_CAPABILITIES,
  MEMBER_KINDS,
  type RekeyProofFile,
  rekeyProofFile,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import {
  CONTACT_TABLE,
  type CsvTable,
  createHubClient,
  DEBTOR_TABLE,
  ed25519Signer,
  MemberNode,
  parseContactRows,
  parseDebtorRows,
  type UploadError,
} from "@relink/sdk";
import type { Command } from "commander";
import { readTable } from "../csv.ts";
import { EXIT, talkingTo, UserError } from "../errors.ts";
import { readHome, secretsOf } from "../home.ts";
import { resolveSettings } from "../settings.ts";
import { nonNegativeInt } from "./options.ts";
import { run } from "./shared.ts";

function adminClient(opts: { hub?: string; config?: string; adminKey: string }) {
  const hub = resolveSettings({
    ...(opts.hub ? { hub: opts.hub } : {}),
    ...(opts.config ? { config: opts.config } : {}),
  }).hub;
  if (!hub)
    throw new UserError("the hub's URL is needed: --hub URL (or RELINK_HUB, or the config file)", EXIT.usage);
  talkingTo(hub);
  let hex: string;
  try {
    hex = readFileSync(opts.adminKey, "utf8").trim();
  } catch (error) {
    throw new UserError(
      `${opts.adminKey}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read"}`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new UserError(`${opts.adminKey}: expected a hex Ed25519 secret key`);
  return createHubClient({ url: hub, signer: ed25519Signer(fromHex(hex)) });
}

/** Admin output is one JSON object already; --quiet prints nothing. */
function print(o: { quiet?: boolean }, value: unknown): void {
  if (!o.quiet) console.log(JSON.stringify(value));
}

const list = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function register(program: Command): void {
  const admin = program.command("admin").description("network administration (hub operator)");

  admin
    .command("keygen")
    .description("create an administrator key file; prints the public key for the hub's network config")
    .requiredOption("--out <file>", "where to write the secret key (refuses to overwrite)")
    .option("--json", "print the public key as JSON (the default)")
    .option("--quiet", "print nothing")
    .action((opts: { out: string; quiet?: boolean }) => {
      if (existsSync(opts.out)) throw new UserError(`${opts.out} exists: refusing to overwrite a key file`);
      const secret = ed25519.utils.randomSecretKey();
      writeFileSync(opts.out, `${toHex(secret)}\n`, { mode: 0o600, flag: "wx" });
      chmodSync(opts.out, 0o600);
      print(opts, { adminPublicKey: toBase64Url(ed25519.getPublicKey(secret)) });
    });

  const withHub = (c: Command) =>
    c
      .option("--hub <url>", "the hub's URL (env RELINK_HUB, or the config file)")
      .option("--config <file>", "settings file (env RELINK_CONFIG; default ~/.config/relink/config.json)")
      .requiredOption("--admin-key <file>", "administrator key file")
      .option("--json", "print the result as JSON (the default)")
      .option("--quiet", "print nothing on success");

  withHub(admin.command("onboard"))
    .description("onboard a member institution with its request-signing key")
    .requiredOption("--slug <slug>", "short lower-case handle, e.g. acme-bank")
    .requiredOption("--name <name>", "display name")
    .requiredOption("--kind <kind>", MEMBER_KINDS.join(" | "))
    .option("--capabilities <list>", `comma-separated: ${MEMBER_CAPABILITIES.join(", ")}`, list, [])
    .requiredOption("--signing-key <base64url>", "the member's Ed25519 public key (from relink init)")
    .option("--lookup-quota <n>", "daily lookup quota (tags)", nonNegativeInt)
    .option("--evaluation-quota <n>", "daily OPRF evaluation quota", nonNegativeInt)
    .action(
      run(
        async (o: {
          hub?: string;
          config?: string;
          quiet?: boolean;
          adminKey: string;
          slug: string;
          name: string;
          kind: string;
          capabilities: string[];
          signingKey: string;
          lookupQuota?: number;
          evaluationQuota?: number;
        }) => {
          const m = await adminClient(o).admin.onboardMember.mutate({
            slug: o.slug,
            displayName: o.name,
            kind: o.kind as (typeof MEMBER_KINDS)[number],
            capabilities: o.capabilities as (typeof MEMBER_CAPABILITIES)[number][],
            signingPublicKey: o.signingKey,
            ...(o.lookupQuota !== undefined ? { dailyLookupQuota: o.lookupQuota } : {}),
            ...(o.evaluationQuota !== undefined ? { dailyEvaluationQuota: o.evaluationQuota } : {}),
          });
          print(o, m);
        },
      ),
    );

  withHub(admin.command("suspend"))
    .requiredOption("--slug <slug>")
    .requiredOption("--reason <text>")
    .action(
      run(
        async (o: {
          hub?: string;
          config?: string;
          quiet?: boolean;
          adminKey: string;
          slug: string;
          reason: string;
        }) => {
          print(o, await adminClient(o).admin.suspendMember.mutate({ slug: o.slug, reason: o.reason }));
        },
      ),
    );

  withHub(admin.command("rekey"))
    .description(
      "re-key a member that lost its request-signing key (ADR 0037): revokes all its signing keys ('lost') and " +
        "registers the key of the member's proof file (from `relink key new --offline`, delivered out of band)",
    )
    .argument("<member>", "the member's slug")
    .requiredOption("--proof-file <file>", "the member's proof file")
    .action(
      run(
        async (
          member: string,
          o: { hub?: string; config?: string; quiet?: boolean; adminKey: string; proofFile: string },
        ) => {
          const file = readProofFile(o.proofFile);
          if (file.member !== member) {
            throw new UserError(`${o.proofFile}: the proof is for member '${file.member}', not '${member}'`);
          }
          const r = await adminClient(o).admin.rekeyMember.mutate({
            slug: member,
            newPublicKey: file.newPublicKey,
            timestampMs: file.timestampMs,
            nonce: file.nonce,
            proof: file.proof,
          });
          print(o, r);
        },
      ),
    );

  withHub(admin.command("reinstate"))
    .requiredOption("--slug <slug>")
    .action(
      run(async (o: { hub?: string; config?: string; quiet?: boolean; adminKey: string; slug: string }) => {
        print(o, await adminClient(o).admin.reinstateMember.mutate({ slug: o.slug }));
      }),
    );

  withHub(admin.command("dpo-key"))
    .description("register a member DPO's key (from `relink dpo keygen`): it may read that member's ledger")
    .requiredOption("--slug <slug>")
    .requiredOption("--key <base64url>", "the DPO's Ed25519 public key")
    .action(
      run(async (o: { hub: string; adminKey: string; slug: string; key: string }) => {
        const r = await adminClient(o).admin.registerDpoKey.mutate({ slug: o.slug, publicKey: o.key });
        console.log(JSON.stringify(r));
      }),
    );

  withHub(admin.command("quota"))
    .requiredOption("--slug <slug>")
    .option("--lookup <n>", "daily lookup quota", nonNegativeInt)
    .option("--evaluation <n>", "daily evaluation quota", nonNegativeInt)
    .action(
      run(
        async (o: {
          hub?: string;
          config?: string;
          quiet?: boolean;
          adminKey: string;
          slug: string;
          lookup?: number;
          evaluation?: number;
        }) => {
          const m = await adminClient(o).admin.setQuotas.mutate({
            slug: o.slug,
            ...(o.lookup !== undefined ? { dailyLookupQuota: o.lookup } : {}),
            ...(o.evaluation !== undefined ? { dailyEvaluationQuota: o.evaluation } : {}),
          });
          print(o, m);
        },
      ),
    );

  // ------------------------------------------------------------------------------ abuse controls (ADR 0045)

  withHub(admin.command("alerts"))
    .description("abuse alerts (member, kind, severity, triggering receipt) and the sanctions applied")
    .option("--since-days <n>", "only alerts of the last n days", nonNegativeInt)
    .option("--table", "print a table for people instead of JSON")
    .action(
      run(
        async (o: {
          hub?: string;
          adminKey: string;
          sinceDays?: number;
          table?: boolean;
          quiet?: boolean;
        }) => {
          const r = await adminClient(o).admin.alerts.query({
            ...(o.sinceDays ? { sinceDays: o.sinceDays } : {}),
          });
          if (!o.table) {
            print(o, r);
            return;
          }
          if (r.alerts.length === 0) console.log("no alerts");
          for (const a of r.alerts) {
            const detail = Object.entries(a.detail)
              .map(([k, v]) => `${k}=${v}`)
              .join(" ");
            console.log(
              `${a.createdAt}  ${a.severity.padEnd(6)} ${a.member.padEnd(20)} ${a.kind.padEnd(28)} ` +
                `receipt leaf ${a.relatedLeaf ?? "-"}  alert leaf ${a.auditLeaf ?? "-"}  ${detail}`,
            );
          }
          for (const x of r.sanctions) {
            console.log(
              `${x.createdAt}  sanction ${x.step.padEnd(8)} ${x.member}${x.until ? ` until ${x.until}` : ""}`,
            );
          }
        },
      ),
    );

  /** The network-owned member node (its home) that computes tags through the key holders for the network. */
  /** Every row of a table or nothing: any bad cell (the first 20 are listed) refuses the whole file. */
  function everyRow<R>(
    file: string,
    table: CsvTable,
    parse: (
      records: CsvTable["records"],
      now: Date,
      rows: CsvTable["rows"],
    ) => { rows: R[]; errors: UploadError[] },
    verb: string,
  ): R[] {
    const { rows, errors } = parse(table.records, new Date(), table.rows);
    const bad = [...table.errors, ...errors];
    if (bad.length > 0 || rows.length === 0) {
      for (const e of bad.slice(0, 20)) console.error(`row ${e.row}, ${e.field}: ${e.reason}: ${e.message}`);
      throw new UserError(`${file}: ${bad.length} bad cell(s), ${rows.length} good row(s): nothing ${verb}`);
    }
    return rows;
  }

  async function networkNode(home: string) {
    const h = readHome(home);
    const node = await MemberNode.connect({ hubUrl: h.hubUrl, secrets: secretsOf(h) });
    return node;
  }

  withHub(admin.command("plant-honeytokens"))
    .description(
      "publish synthetic identities (contacts CSV, as for `relink publish`) from the network-owned member " +
        "and register their tags as honeytokens: any lookup of one alerts the network admin",
    )
    .argument("<contacts.csv>", "synthetic identities and their (fake) contact points")
    .requiredOption("--home <dir>", "the network-owned member node's directory")
    .requiredOption("--note <text>", "the network's own note for these honeytokens (never shown to members)")
    .action(
      run(
        async (
          file: string,
          o: { hub?: string; adminKey: string; home: string; note: string; quiet?: boolean },
        ) => {
          const rows = everyRow(file, readTable(file, CONTACT_TABLE), parseContactRows, "planted");
          const node = await networkNode(o.home);
          const published = await node.publishContacts(rows);
          const tags = await node.tags([...new Set(rows.flatMap((r) => r.subjects))]);
          const r = await adminClient(o).admin.plantHoneytokens.mutate({
            epoch: node.network.epoch.epoch,
            tags: [...tags.values()].map((t) => toBase64Url(t.tag)),
            note: o.note,
          });
          print(o, { records: published.records, honeytokens: r.planted });
        },
      ),
    );

  withHub(admin.command("opt-out"))
    .description(
      "network DPO: register data subjects' opt-out of contact relocation (their identifiers' tags are " +
        "computed through the key holders by the network-owned member node; lookups then return nothing)",
    )
    .argument("<subjects.csv>", "columns: debtor_ref, id_number, subject_phone, name, dob")
    .requiredOption("--home <dir>", "the network-owned member node's directory")
    .requiredOption("--request-ref <ref>", "the DPO's reference for the subject's request")
    .action(
      run(
        async (
          file: string,
          o: { hub?: string; adminKey: string; home: string; requestRef: string; quiet?: boolean },
        ) => {
          const rows = everyRow(file, readTable(file, DEBTOR_TABLE), parseDebtorRows, "registered");
          const node = await networkNode(o.home);
          const tags = await node.tags([...new Set(rows.flatMap((r) => r.subjects))]);
          const r = await adminClient(o).admin.registerOptOuts.mutate({
            epoch: node.network.epoch.epoch,
            tags: [...tags.values()].map((t) => toBase64Url(t.tag)),
            requestReference: o.requestRef,
          });
          print(o, { subjects: rows.length, tags: tags.size, registered: r.registered });
        },
      ),
    );
}

/** A member's re-key proof file, parsed: a malformed one is a UserError naming the file and the field. */
function readProofFile(path: string): RekeyProofFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: ${code === "ENOENT" ? "no such file" : code ? "cannot read" : "not JSON"}`);
  }
  const parsed = rekeyProofFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${path}: field ${issue.path.join(".") || "(file)"}: ${issue.message}`);
  }
  return parsed.data;
}
