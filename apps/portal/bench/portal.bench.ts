/**
 * `npm run bench -- portal [--rows N] [--debtors N]`: the portal's browser crypto against the CLI, same run,
 * same network (hub hosting the portal, 3 key holders 2-of-3, embedded PGlite), same data:
 *  - publish: N contact rows (default 10^4) — once with `relink publish` (CLI, psi worker pool) as one
 *    member, once in Chromium (Web Worker, libsodium WASM, WebCrypto signing) as another member;
 *  - match: D debtors (default 10^3) of the collector — `relink match` and the portal's match page.
 * Each browser time runs from the click to the result on screen; each CLI time is the whole command
 * (process start included). Figures are the ratios browser ÷ CLI (target ≤ 1.5, issue #10).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { addMember, startNetwork } from "@relink/demo/network";
import { demoAccounts, randomPassword, seedPortalAccounts } from "@relink/demo/portal";
import { buildScenario, MEMBERS } from "@relink/demo/scenario";
import { stringify } from "csv-stringify/sync";
import { ensurePortalBuild } from "../src/server/build.ts";
import { launch } from "../test/browser.ts";

const { values } = parseArgs({
  options: { rows: { type: "string", default: "10000" }, debtors: { type: "string", default: "1000" } },
});
const ROWS = Number(values.rows);
const DEBTORS = Number(values.debtors);
const csv = (rows: readonly object[]) => stringify(rows as Record<string, unknown>[], { header: true });
const seconds = (t0: number) => (performance.now() - t0) / 1000;

await ensurePortalBuild();
const dir = mkdtempSync(join(tmpdir(), "relink-bench-portal-"));
const asOf = new Date().toISOString().slice(0, 10);
// Enough people that their contact rows reach ROWS; debtors drawn from them.
const s = buildScenario({ asOf, population: Math.ceil(ROWS / 3), debtors: DEBTORS, unconsented: 0 });
const book = [...s.books.bank, ...s.books.consumer, ...s.books.auto].slice(0, ROWS);
if (book.length < ROWS) throw new Error(`only ${book.length} rows generated`);
const big = { lookupQuota: 1_000_000, evaluationQuota: 10_000_000 };
const files = {
  book: join(dir, "book.csv"),
  debtors: join(dir, "debtors.csv"),
  consents: join(dir, "consents.csv"),
};
writeFileSync(files.book, csv(book));
writeFileSync(files.debtors, csv(s.debtors));
writeFileSync(files.consents, csv(s.consents));

// The key holders' own daily caps per member (ADR 0045) must allow the run's evaluations, like the quotas.
const net = await startNetwork({
  dir,
  portal: true,
  // Abuse controls (ADR 0045) sized for a benchmark's bulk consents and matches, not for a member's day.
  abuse: {
    dailyConsentRegistrations: 1_000_000,
    maxTagsPerCase: 1000,
    freshConsentLookupsAlert: 1_000_000,
    unconsentedLookupsAlert: 1_000_000,
    sanctions: "advisory",
  },
  evaluationCaps: {
    members: Object.fromEntries(
      [MEMBERS.bank, MEMBERS.consumer, MEMBERS.collector].map((m) => [m.slug, big.evaluationQuota]),
    ),
  },
});
const browser = await launch();
try {
  for (const m of [MEMBERS.bank, MEMBERS.consumer, MEMBERS.collector]) await addMember(net, { ...m, ...big });
  await net.hub.waitFor(/Relink portal on/, 180_000);
  const password = randomPassword();
  const accounts = demoAccounts({ collector: MEMBERS.collector.slug, bank: MEMBERS.consumer.slug });
  await seedPortalAccounts(net, accounts, password);
  const cli = async (args: string[], home: string) => {
    const t0 = performance.now();
    const r = await net.relink([...args, "--no-progress"], home);
    if (r.code !== 0) throw new Error(`relink ${args[0]}: ${r.stderr}`);
    return seconds(t0);
  };
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const signIn = async (email: string, slug: string) => {
    await page.goto(`${net.hubUrl}/signin`);
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(password);
    await page.getByTestId("signin-submit").click();
    await page.getByTestId("sign-out").waitFor();
    await page.goto(`${net.hubUrl}/keys`);
    await page.getByTestId("key-file").setInputFiles(join(net.homeDir(slug), "member.json"));
    await page.getByTestId("key-info").waitFor();
  };

  const cliPublish = await cli(["publish", files.book], MEMBERS.bank.slug);
  await signIn(accounts.find((a) => a.role === "data_engineer")!.email, MEMBERS.consumer.slug);
  await page.goto(`${net.hubUrl}/publish`);
  await page.getByTestId("csv-input").setInputFiles(files.book);
  let t0 = performance.now();
  await page.getByTestId("publish-start").click();
  await page.getByTestId("publish-done").waitFor({ timeout: 1_800_000 });
  const browserPublish = seconds(t0);
  await page.getByTestId("sign-out").click();

  await cli(["consent", "import", files.consents], MEMBERS.collector.slug);
  const cliMatch = await cli(
    [
      "match",
      files.debtors,
      "--purpose",
      "debt_collection",
      "--out",
      join(dir, "out.csv"),
      "--case",
      "bench",
    ],
    MEMBERS.collector.slug,
  );
  await signIn(accounts.find((a) => a.role === "collections_operator")!.email, MEMBERS.collector.slug);
  await page.goto(`${net.hubUrl}/match`);
  await page.getByTestId("case-id").fill("bench-browser");
  await page.getByTestId("csv-input").setInputFiles(files.debtors);
  t0 = performance.now();
  await page.getByTestId("match-start").click();
  await page.getByTestId("match-summary").waitFor({ timeout: 1_800_000 });
  const browserMatch = seconds(t0);

  const r = (x: number) => Math.round(x * 100) / 100;
  const figures = {
    rows: ROWS,
    debtors: DEBTORS,
    cliPublishS: r(cliPublish),
    browserPublishS: r(browserPublish),
    publishRatio: r(browserPublish / cliPublish),
    cliMatchS: r(cliMatch),
    browserMatchS: r(browserMatch),
    matchRatio: r(browserMatch / cliMatch),
  };
  console.log("work                       CLI (s)   Chromium (s)   ratio");
  console.log(
    `publish ${String(ROWS).padEnd(6)} rows        ${String(figures.cliPublishS).padStart(7)}   ${String(figures.browserPublishS).padStart(12)}   ${figures.publishRatio}`,
  );
  console.log(
    `match ${String(DEBTORS).padEnd(6)} debtors     ${String(figures.cliMatchS).padStart(7)}   ${String(figures.browserMatchS).padStart(12)}   ${figures.matchRatio}`,
  );
  console.log(`BENCH portal ${JSON.stringify(figures)}`);
} finally {
  await browser.close();
  await net.stop();
  rmSync(dir, { recursive: true, force: true });
}
