#!/usr/bin/env node
/**
 * `npm start`: boots a demo Relink network of real processes — hub (embedded PGlite, or PostgreSQL with
 * DATABASE_URL: a fresh database on that server), three key holders (2-of-3, DKG among them) and four
 * member institutions with synthetic Chinese data — then publishes, registers consents, runs a match,
 * verifies the receipts and prints a summary. `--keep-running` leaves the network up afterwards.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensurePortalBuild } from "@relink/portal/server/build";
import { fromHex } from "@relink/protocol";
import { relinkFetch } from "@relink/protocol/http";
import { ensureNativeBuild, loadNativeGroup } from "@relink/ristretto-native";
import { createHubClient, ed25519Signer } from "@relink/sdk";
import { writeCsvFile } from "./csv.ts";
import { buildExposureScenario, EXTRA_LENDERS } from "./exposure-scenario.ts";
import { addMember, type RunningNetwork, startNetwork } from "./network.ts";
import { demoAccounts, randomPassword, seedPortalAccounts } from "./portal.ts";
import { freshServerDatabase } from "./postgres.ts";
import { buildScenario, DEMO_EVALUATION_CAPS, DEMO_EXPOSURE, MEMBERS, NETWORK_MEMBER } from "./scenario.ts";

const keepRunning = process.argv.includes("--keep-running");
const wantPortal = !process.argv.includes("--no-portal");
const dir = join(process.cwd(), ".relink", "demo");
const say = (s: string) => process.stdout.write(`${s}\n`);
const step = (s: string) => say(`\n▸ ${s}`);

async function cli(net: RunningNetwork, args: string[], home?: string): Promise<string> {
  const r = await net.relink([...args, "--no-progress"], home);
  if (r.code !== 0 && r.code !== 3)
    throw new Error(`relink ${args.join(" ")} failed (${r.code}):\n${r.stderr}`);
  return r.stdout.trim();
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const serverDb = process.env["DATABASE_URL"]
  ? await freshServerDatabase(process.env["DATABASE_URL"], "relink_demo")
  : undefined;
const started = Date.now();
// Native ristretto255 for the key holders and members (ADR 0019): built here if the install hook could not.
{
  const build = ensureNativeBuild();
  const native = loadNativeGroup();
  say(
    "group" in native
      ? `ristretto255: native libsodium ${native.group.sodiumVersion} (Node-API addon)`
      : `ristretto255: libsodium WASM — ${native.reason}${build.includes("not built") ? ` (${build})` : ""}`,
  );
}
// The web portal is served by the hub from a production build, made here when missing or stale (ADR 0060).
let portal = wantPortal;
if (portal) {
  const t0 = Date.now();
  try {
    if (await ensurePortalBuild())
      say(`  built the web portal (next build) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } catch (error) {
    portal = false;
    say(`  web portal not started: ${(error as Error).message}`);
  }
}
step(`Starting the network in ${dir} (${serverDb ? "PostgreSQL" : "embedded PGlite"})`);
const net = await startNetwork({
  dir,
  portal,
  ...(serverDb ? { databaseUrl: serverDb.url } : {}),
  evaluationCaps: { members: DEMO_EVALUATION_CAPS },
  exposure: DEMO_EXPOSURE,
});
let failed = false;
try {
  say(
    `  hub ${net.hubUrl}; key holders ${net.holderUrls.join(", ")} (2-of-3, key from a DKG: no machine holds it)`,
  );
  say(`  audit log key ${net.logKey}`);

  step("Onboarding six member institutions, and the network-owned member that plants honeytokens");
  for (const m of [...Object.values(MEMBERS), ...EXTRA_LENDERS, NETWORK_MEMBER]) {
    await addMember(net, m);
    say(`  ${m.slug.padEnd(16)} ${m.name} [${m.capabilities.join(", ")}]`);
  }

  if (portal)
    portal = await net.hub.waitFor(/Relink portal on|portal\.start_failed/, 600_000).then(
      (m) => m[0].startsWith("Relink portal"),
      () => false,
    );
  if (!portal) say("  web portal not available (see the hub's log); continuing without it");
  if (portal) {
    const password = randomPassword();
    const accounts = demoAccounts({
      collector: MEMBERS.collector.slug,
      bank: MEMBERS.bank.slug,
      network: NETWORK_MEMBER.slug,
    });
    await seedPortalAccounts(net, accounts, password);
    step(`Web portal: ${net.hubUrl}/ (zh-Hans; zh-Hant and English in the language menu)`);
    say(`  demo accounts, password ${password}:`);
    for (const a of accounts) {
      const also = a.alsoRoles?.length ? ` (also ${a.alsoRoles.join(", ")} of ${a.memberSlug})` : "";
      say(`    ${a.role.padEnd(21)} ${a.email}${also}`);
    }
    say(
      `  member key files to import in the browser (Member key page): ${join(dir, "members", "<member>", "member.json")}`,
    );
    say(
      `  /abuse (netops) and /opt-outs (network DPO) use the network-owned member's key: ${join(dir, "members", NETWORK_MEMBER.slug, "member.json")}`,
    );
    say(`  audit log key to pin on the audit page: ${net.logKey}`);
  }

  const s = buildScenario({ asOf: new Date().toISOString().slice(0, 10) });
  const files = {
    bank: join(dir, "eastern-bank-contacts.csv"),
    consumer: join(dir, "anxin-consumer-contacts.csv"),
    auto: join(dir, "chiyuan-auto-contacts.csv"),
    debtors: join(dir, "xinda-debtors.csv"),
    consents: join(dir, "xinda-consents.csv"),
    results: join(dir, "xinda-results.csv"),
  };
  writeCsvFile(files.bank, s.books.bank);
  writeCsvFile(files.consumer, s.books.consumer);
  writeCsvFile(files.auto, s.books.auto);
  writeCsvFile(files.debtors, s.debtors);
  writeCsvFile(files.consents, s.consents);

  step(
    "Publishing contact books (identifiers blinded through the key holders, labels sealed on the member's side)",
  );
  for (const [key, m] of [
    ["bank", MEMBERS.bank],
    ["consumer", MEMBERS.consumer],
    ["auto", MEMBERS.auto],
  ] as const) {
    say(`  ${m.slug.padEnd(16)} ${await cli(net, ["publish", files[key]], m.slug)}`);
  }

  step(
    `${MEMBERS.collector.slug}: registering consents for ${s.consents.length} of ${s.debtors.length} debtors`,
  );
  say(`  ${await cli(net, ["consent", "import", files.consents], MEMBERS.collector.slug)}`);

  step(
    `${MEMBERS.collector.slug}: matching ${s.debtors.length} unreachable debtors (purpose: debt_collection)`,
  );
  say(
    `  ${await cli(net, ["match", files.debtors, "--purpose", "debt_collection", "--out", files.results, "--case", "demo-2026-11"], MEMBERS.collector.slug)}`,
  );

  const lines = readFileSync(files.results, "utf8")
    .replace(/^\ufeff/, "")
    .trim()
    .split(/\r?\n/);
  say(`\n  first results (${files.results}):`);
  for (const line of lines.slice(0, 8)) say(`    ${line}`);

  step(
    `${MEMBERS.collector.slug}: zero-knowledge consent proofs — commit a consent root, then each lookup proves its tags are covered`,
  );
  say(`  ${await cli(net, ["consent", "commit", files.consents], MEMBERS.collector.slug)}`);
  // A few debtors only: each identifier tag costs one Groth16 proof (about a second on a loaded machine).
  const zk = { debtors: join(dir, "xinda-debtors-zk.csv"), receipts: join(dir, "xinda-zk-receipts") };
  writeCsvFile(zk.debtors, s.debtors.slice(0, 3));
  mkdirSync(zk.receipts, { recursive: true });
  say(
    `  ${await cli(net, ["match", zk.debtors, "--purpose", "debt_collection", "--case", "demo-2026-11-zk", "--receipts", zk.receipts], MEMBERS.collector.slug)}`,
  );
  const receiptFile = readdirSync(zk.receipts).find(
    (f) => /^match-.*-1\.json$/.test(f) && !f.includes("consent-proofs"),
  );
  if (!receiptFile) throw new Error(`no match receipt in ${zk.receipts}`);
  const verified = await net.relink([
    "receipt",
    "verify",
    join(zk.receipts, receiptFile),
    "--log-key",
    net.logKey,
  ]);
  if (verified.code !== 0) throw new Error(`relink receipt verify failed:\n${verified.stderr}`);
  say(
    `  ${verified.stdout.split("\n").find((l) => l.startsWith("consent proofs")) ?? "consent proofs: none"}`,
  );

  step("Cross-lender exposure: five lenders answer encrypted requests (BFV, pairwise zero-sum masks)");
  const x = buildExposureScenario(s.people, { asOf: new Date().toISOString().slice(0, 10) });
  const serving = [];
  for (const [slug, rows] of Object.entries(x.books)) {
    const book = join(dir, `${slug}-loans.csv`);
    writeCsvFile(book, rows);
    serving.push(net.daemon(`serve-${slug}`, ["serve", "--book", book], slug));
  }
  // A lender node has no health endpoint (it only polls the hub): ready when it logs its registration.
  await Promise.all(serving.map((p) => p.waitFor(/"event":"book\.registered"/)));
  say(`  ${serving.length} lender nodes registered their customers' tags (never figures) and are serving`);
  const xFiles = {
    consents: join(dir, "eastern-bank-credit-consents.csv"),
    applicants: join(dir, "eastern-bank-applicants.csv"),
    portfolio: join(dir, "eastern-bank-portfolio.csv"),
    out: join(dir, "eastern-bank-exposure.csv"),
  };
  writeCsvFile(xFiles.consents, x.consents);
  writeCsvFile(xFiles.applicants, x.applicants);
  writeCsvFile(xFiles.portfolio, x.portfolio);
  say(`  ${x.querier} (risk team): ${await cli(net, ["consent", "import", xFiles.consents], x.querier)}`);
  say(
    `  ${x.querier}: ${await cli(net, ["exposure", xFiles.applicants, "--purpose", "credit_assessment", "--out", xFiles.out], x.querier)}`,
  );
  const xLines = readFileSync(xFiles.out, "utf8")
    .replace(/^\ufeff/, "")
    .trim()
    .split(/\r?\n/);
  for (const line of xLines.slice(0, 4)) say(`    ${line}`);
  say(
    `  ${x.querier}: portfolio of ${x.portfolio.length} (ε = 1 per query: on a portfolio this small the noise dominates;`,
  );
  say("    it is calibrated for portfolios of tens of thousands, where it is a few per cent) —");
  for (const line of (
    await cli(net, ["exposure", xFiles.portfolio, "--purpose", "credit_assessment", "--aggregate"], x.querier)
  ).split("\n")) {
    say(`    ${line}`);
  }

  step(
    `${x.querier}: zero-knowledge consent proofs on exposure queries — commit a consent root, then each query proves its tags are covered`,
  );
  say(`  ${await cli(net, ["consent", "commit", xFiles.consents], x.querier)}`);
  // A few applicants only, as for the lookups above: one Groth16 proof per tag.
  const xZk = {
    applicants: join(dir, "eastern-bank-applicants-zk.csv"),
    receipts: join(dir, "eastern-bank-zk-receipts"),
  };
  writeCsvFile(xZk.applicants, x.applicants.slice(0, 3));
  mkdirSync(xZk.receipts, { recursive: true });
  say(
    `  ${x.querier}: ${await cli(net, ["exposure", xZk.applicants, "--purpose", "credit_assessment", "--receipts", xZk.receipts], x.querier)}`,
  );
  const xReceipt = readdirSync(xZk.receipts).find(
    (f) => /^exposure-.*-1\.json$/.test(f) && !f.includes("consent-proofs"),
  );
  if (!xReceipt) throw new Error(`no exposure receipt in ${xZk.receipts}`);
  const xVerified = await net.relink([
    "receipt",
    "verify",
    join(xZk.receipts, xReceipt),
    "--log-key",
    net.logKey,
  ]);
  if (xVerified.code !== 0) throw new Error(`relink receipt verify failed:\n${xVerified.stderr}`);
  const xProofs = xVerified.stdout.split("\n").find((l) => l.startsWith("consent proofs"));
  if (!xProofs?.startsWith("consent proofs OK")) {
    throw new Error(`the exposure receipt's consent proofs did not verify:\n${xVerified.stdout}`);
  }
  say(`  ${xProofs}`);

  step("Audit log");
  const checkpoint = await (await relinkFetch(`${net.hubUrl}/log/checkpoint`)).text();
  const [origin, size] = checkpoint.split("\n");
  const cosignatures = checkpoint
    .split("\n")
    .filter((l) => l.startsWith("\u2014 ") && !l.startsWith(`\u2014 ${origin} `));
  say(
    `  ${origin}: ${size} leaves, checkpoint cosigned by ${cosignatures.length} member witness(es); every publication,`,
  );
  say(
    `    consent batch and lookup has a receipt verified offline with ${net.witnessKeys.length} witness cosignatures, kept in the member home`,
  );
  const collector = MEMBERS.collector.slug;
  for (const command of ["verify", "audit"]) {
    const r = await net.relink(["log", command], collector);
    if (r.code !== 0) throw new Error(`relink log ${command} failed (${r.code}):\n${r.stderr}`);
    say(`  ${collector}: ${r.stdout.trim()}`);
  }
  const health = (await (await relinkFetch(`${net.hubUrl}/healthz/log`)).json()) as { state: string };
  say(`  hub self-audit of its stored log (GET /healthz/log): ${health.state}`);
  // The member directory is not public (ADR 0040): the operator reads it with the admin key.
  const admin = createHubClient({
    url: net.hubUrl,
    signer: ed25519Signer(fromHex(readFileSync(net.adminKeyFile, "utf8").trim())),
  });
  const directory = await admin.network.memberDirectory.query();
  const slugOf = new Map(directory.members.map((m) => [m.memberId, m.slug]));
  for (const [i, url] of net.holderUrls.entries()) {
    const usage = (await (await relinkFetch(`${url}/v1/usage`)).json()) as {
      usage: { memberId: string; evaluated: number }[];
    };
    const perMember = usage.usage
      .map((u) => `${slugOf.get(u.memberId) ?? u.memberId} ${u.evaluated}`)
      .join(", ");
    say(`  key holder ${i + 1} metered evaluations today: ${perMember}`);
  }

  step("Abuse alerts (network admin: relink admin alerts)");
  const alerts = await net.relink([
    "admin",
    "alerts",
    "--table",
    "--hub",
    net.hubUrl,
    "--admin-key",
    net.adminKeyFile,
  ]);
  if (alerts.code !== 0) throw new Error(`relink admin alerts failed (${alerts.code}):\n${alerts.stderr}`);
  for (const line of alerts.stdout.trim().split("\n")) say(`  ${line}`);
  say(
    "  (a batch of debtors consented and matched the same day is alerted, advisory: it also looks like fishing)",
  );
  say(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
} catch (error) {
  failed = true;
  console.error(`\ndemo failed: ${(error as Error).message}`);
  console.error(`hub output (last lines):\n${net.hub.output().split("\n").slice(-15).join("\n")}`);
} finally {
  if (keepRunning && !failed) {
    say(`\nNetwork left running (hub and web portal ${net.hubUrl}/); Ctrl-C to stop.`);
    await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  }
  await net.stop();
  await serverDb?.drop();
}
process.exit(failed ? 1 : 0);
