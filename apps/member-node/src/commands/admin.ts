/**
 * `relink admin …`: the network operator's commands, signed with an administrator key that the hub's
 * network config lists. Keys are files holding the hex Ed25519 secret key (mode 0600).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromHex, MEMBER_CAPABILITIES, MEMBER_KINDS, toBase64Url, toHex } from "@relink/protocol";
import { createHubClient, ed25519Signer } from "@relink/sdk";
import type { Command } from "commander";
import { EXIT, talkingTo, UserError } from "../errors.ts";
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
}
