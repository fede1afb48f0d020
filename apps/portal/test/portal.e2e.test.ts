/**
 * The portal end to end, in Debian's Chromium against a demo network whose hub hosts the portal (ADR 0060):
 * sign-in per role, member key import, publishing a contact book and matching debtors in the browser
 * (Web Worker crypto), consents, Excel-safe download, receipts verified in the browser, language switch,
 * security headers, CSRF refusal — and the privacy attack: every request the browser sent (pages and
 * worker, to the hub and to the key holders) is scanned for the raw identifiers and contact values of the
 * uploaded files; none may appear. The risk analyst runs exposure queries in the browser (BFV keys and
 * decryption in the worker) against lender nodes (`relink serve`) and gets the plaintext oracle's figures.
 * The member DPO computes a subject access report for a debtor matched earlier (tags in the worker), checks
 * an altered report is rejected, replays a query's consent, and exports a pack that its own verifier accepts.
 * The member admin rotates the member's signing key in the browser; the old key is refused, the new one works.
 * Network governance (issue 11, ADR 0036): the network admin plants honeytokens from a CSV (published and
 * tagged in the worker with the network-owned member's key), a member's fishing lookup (SDK) raises an alert
 * the page shows with the member and the receipt, the member shows suspended and is reinstated; the network
 * DPO registers a subject's opt-out and the next match returns nothing for them, then runs a subject access
 * report; wrong roles are refused (403) and do not see these pages.
 * Screenshots go to apps/portal/test-results/ (gitignored).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ed25519 } from "@noble/curves/ed25519.js";
import { contactBook, makePopulation } from "@relink/demo";
import { buildExposureScenario, EXTRA_LENDERS, exposureOracle } from "@relink/demo/exposure-scenario";
import { addMember, type RunningNetwork, startNetwork } from "@relink/demo/network";
import { demoAccounts, randomPassword, seedPortalAccounts } from "@relink/demo/portal";
import { buildScenario, DEMO_EXPOSURE, MEMBERS, NETWORK_MEMBER } from "@relink/demo/scenario";
import { EXPOSURE_FEATURES, fromHex, keyFingerprint, toBase64Url } from "@relink/protocol";
import { createHubClient, ed25519Signer, MemberNode, parseDebtorRows } from "@relink/sdk";
import { MATCH_COLUMNS } from "@relink/sdk/columns";
import { stringify } from "csv-stringify/sync";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePortalBuild } from "../src/server/build.ts";
import { parseCsv } from "../web/csv.ts";
import { type Browser, hasChromium, launch } from "./browser.ts";

const SHOTS = join(import.meta.dirname, "..", "test-results");
const csv = (rows: readonly object[]) => stringify(rows as Record<string, unknown>[], { header: true });

describe.skipIf(!hasChromium)("portal in Chromium", () => {
  const dir = join(tmpdir(), `relink-portal-e2e-${process.pid}`);
  const asOf = new Date().toISOString().slice(0, 10);
  const s = buildScenario({ asOf, population: 120, debtors: 30, unconsented: 5 });
  // The exposure story over the same people: five lenders' loan books; the bank's risk team asks.
  const x = buildExposureScenario(s.people, { seed: 5050, asOf, applicants: 16, portfolio: 24 });
  const accounts = demoAccounts({
    collector: MEMBERS.collector.slug,
    bank: MEMBERS.bank.slug,
    network: NETWORK_MEMBER.slug,
  });
  const password = randomPassword();
  const account = (role: string) => accounts.find((a) => a.role === role)!;
  let net: RunningNetwork;
  let browser: Browser;
  let page: Page;
  const files = {
    bank: join(dir, "bank-contacts.csv"),
    debtors: join(dir, "debtors.csv"),
    consents: join(dir, "consents.csv"),
    consumer: join(dir, "consumer-contacts.csv"),
    exposure: join(dir, "exposure-results.csv"),
    applicants: join(dir, "applicants.csv"),
    portfolio: join(dir, "portfolio.csv"),
    creditConsents: join(dir, "credit-consents.csv"),
    honeytokens: join(dir, "honeytokens.csv"),
  };
  // A synthetic identity the network plants as a honeytoken, and the network operator who plants it (the demo's
  // netops account: a network admin with the data-engineer role for the network-owned member — publishing is a
  // member's act).
  const [ghost] = makePopulation(9191, 1);
  const netops = accounts.find((a) => a.alsoRoles?.includes("data_engineer"))!;

  async function shot(name: string) {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function signIn(role: string) {
    await signInAs(account(role).email);
  }

  async function signInAs(email: string) {
    await page.goto(`${net.hubUrl}/signin`);
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(password);
    await page.getByTestId("signin-submit").click();
    await page.getByTestId("sign-out").waitFor();
  }

  async function signOut() {
    await page.getByTestId("sign-out").click();
    await page.getByTestId("signin-submit").waitFor();
  }

  /** A debtor the collector holds a consent for and the lenders hold contacts of (a match finds them). */
  const consentedHeldDebtor = () => {
    const consented = new Set(s.consents.map((c) => c.debtor_ref));
    const held = new Set([...s.books.bank, ...s.books.consumer].map((r) => r.id_number));
    return s.debtors.find((d) => consented.has(d.debtor_ref) && held.has(d.id_number))!;
  };
  const ordinaryDebtor = () => parseDebtorRows([{ ...consentedHeldDebtor() }], new Date()).rows;

  /** A member's node through the SDK, with the secrets of its home (the CLI's member.json). */
  async function memberNode(slug: string): Promise<MemberNode> {
    const home = JSON.parse(readFileSync(join(net.homeDir(slug), "member.json"), "utf8")) as {
      signingSecretKey: string;
      recordKey: string;
    };
    return MemberNode.connect({
      hubUrl: net.hubUrl,
      secrets: { signer: ed25519Signer(fromHex(home.signingSecretKey)), recordKey: fromHex(home.recordKey) },
    });
  }

  async function importKey(slug: string) {
    await page.goto(`${net.hubUrl}/keys`);
    await page.getByTestId("key-file").setInputFiles(join(net.homeDir(slug), "member.json"));
    await page.getByTestId("key-info").waitFor();
  }

  // Browser-side crypto flows (Web Worker): the same `it`, named so the four flows read as one group.
  const browserCrypto = it;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(dir, { recursive: true });
    await ensurePortalBuild();
    net = await startNetwork({ dir, portal: true, exposure: DEMO_EXPOSURE });
    for (const m of [MEMBERS.bank, MEMBERS.consumer, MEMBERS.collector, NETWORK_MEMBER])
      await addMember(net, m);
    await net.hub.waitFor(/Relink portal on/, 120_000);
    await seedPortalAccounts(net, accounts, password);
    writeFileSync(files.honeytokens, csv(contactBook(9192, [ghost!], { coverage: 1, asOf })));
    // One row the browser must refuse (bad check digit), to show per-row errors.
    const bad = { ...s.books.bank[0]!, id_number: "110105194912310021" };
    writeFileSync(files.bank, csv([...s.books.bank, bad]));
    writeFileSync(files.consumer, csv(s.books.consumer));
    writeFileSync(files.debtors, csv(s.debtors));
    writeFileSync(files.consents, csv(s.consents));
    writeFileSync(files.applicants, csv(x.applicants));
    writeFileSync(files.portfolio, csv(x.portfolio));
    writeFileSync(files.creditConsents, csv(x.consents));
    // A result file in the CLI's `relink exposure --out` format: one answered, one suppressed applicant.
    writeFileSync(
      files.exposure,
      "applicant_ref,status,active_lenders,outstanding,dpd_current,dpd_1_29,dpd_30_59,dpd_60_89,dpd_90_plus,opened_30d,opened_90d\n" +
        "APP-1,ok,3,182000,2,1,0,0,0,1,2\nAPP-2,suppressed,,,,,,,,,\n",
    );
    // The consumer lender publishes with the CLI, so matches are corroborated across tools.
    const r = await net.relink(["publish", files.consumer, "--no-progress"], MEMBERS.consumer.slug);
    expect(r.code, `${r.stderr}\n${net.hub.output().slice(-2500)}`).toBe(0);
    browser = await launch();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  });

  afterAll(async () => {
    await browser?.close();
    await net?.stop();
  });

  it("refuses a wrong password and shows why, in Chinese by default", async () => {
    await page.goto(`${net.hubUrl}/`);
    await page.getByTestId("signin-submit").waitFor();
    expect(page.url()).toContain("/signin");
    await page.getByTestId("email").fill(account("data_engineer").email);
    await page.getByTestId("password").fill("not-the-password");
    await page.getByTestId("signin-submit").click();
    await expect.poll(() => page.getByTestId("signin-error").textContent()).toContain("邮箱或密码错误");
    await shot("01-signin-error");
  });

  it("sets security headers and session cookies as required", async () => {
    const res = await page.goto(`${net.hubUrl}/signin`);
    const h = res!.headers();
    const csp = h["content-security-policy"]!;
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
    expect(csp.split(";").find((d) => d.includes("script-src"))).not.toContain("unsafe-inline");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(new URL(net.holderUrls[0]!).origin);
    expect(h["x-frame-options"]).toBe("DENY");
    expect(h["x-content-type-options"]).toBe("nosniff");
    await signIn("data_engineer");
    const session = (await browser.context.cookies()).find((c) => c.name.endsWith("next-auth.session-token"));
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Lax");
  });

  browserCrypto(
    "a data engineer imports the member key and publishes a contact book from the browser",
    async () => {
      await importKey(MEMBERS.bank.slug);
      await shot("02-keys");
      await page.goto(`${net.hubUrl}/publish`);
      await page.getByTestId("csv-input").setInputFiles(files.bank);
      await page.getByTestId("publish-start").click();
      await page.getByTestId("publish-done").waitFor();
      const errors = await page.locator(".upload-errors tbody tr").allTextContents();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(String(s.books.bank.length + 2));
      expect(errors[0]).toContain("校验码不符");
      await shot("03-publish-done");
    },
  );

  it("refuses a cross-origin tRPC mutation even with a valid session cookie (CSRF)", async () => {
    const cookie = (await browser.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const res = await fetch(`${net.hubUrl}/api/trpc/directory.publish`, {
      method: "POST",
      headers: { cookie, origin: "http://evil.example", "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(403);
    const same = await fetch(`${net.hubUrl}/api/trpc/portal.me`, { headers: { cookie } });
    expect(same.status).toBe(200);
    await signOut();
  });

  browserCrypto(
    "a collections operator registers consents, matches debtors and downloads an Excel-safe CSV",
    async () => {
      await signIn("collections_operator");
      await importKey(MEMBERS.collector.slug);
      await page.goto(`${net.hubUrl}/consents`);
      await page.getByTestId("csv-input").setInputFiles(files.consents);
      await page.getByTestId("consents-start").click();
      await page.getByTestId("consents-done").waitFor();
      await page.getByTestId("consent-list").waitFor();
      // One consent record per identifier of the row (resident ID, phone, name + date of birth), one reference.
      const refs = async () =>
        new Set(
          (await page.locator("[data-testid=consent-list] tbody tr td:first-child").allTextContents()).map(
            (r) => r.split("#")[0],
          ),
        ).size;
      await expect.poll(refs).toBe(s.consents.length);
      await shot("04-consents");
      await page.goto(`${net.hubUrl}/match`);
      await page.getByTestId("case-id").fill("portal-e2e-2026-12");
      await page.getByTestId("csv-input").setInputFiles(files.debtors);
      await page.getByTestId("match-start").click();
      await page.getByTestId("match-summary").waitFor();
      const summary = (await page.getByTestId("match-summary").textContent()) ?? "";
      expect(summary).toContain(`无授权 ${s.debtors.length - s.consents.length}`);
      await shot("05-match-results");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByTestId("download").click(),
      ]);
      const text = readFileSync(await download.path(), "utf8");
      expect(text.startsWith("\ufeff")).toBe(true);
      expect(text).toContain("\r\n");
      // The SDK's writer (the CLI's): phone numbers start with '+', so an apostrophe keeps Excel from
      // running them as formulas or reading them as numbers.
      const downloaded = parseCsv(text);
      // The CLI's columns and names (MATCH_COLUMNS); every contact carries the no-contact window (GB/T 45251).
      expect(text.slice(1, text.indexOf("\r\n")).split(",")).toEqual([...MATCH_COLUMNS]);
      for (const r of downloaded.filter((x) => x["kind"])) {
        expect(r["no_contact_window"]).toMatch(/^\d\d:\d\d-\d\d:\d\d UTC[+-]\d\d:\d\d$/);
      }
      const phoneCells = downloaded.filter((r) => r["kind"] === "phone").map((r) => r["value"]!);
      expect(phoneCells.length).toBeGreaterThan(0);
      for (const v of phoneCells) expect(v).toMatch(/^'\+86\d{11}$/);
      // The results equal the plaintext oracle: what the bank (browser) and the consumer lender (CLI) hold.
      const consented = new Set(s.consents.map((c) => c.debtor_ref));
      const held = new Map<string, Set<string>>();
      for (const r of [...s.books.bank, ...s.books.consumer]) {
        if (r.kind !== "phone") continue;
        const set = held.get(r.id_number) ?? new Set<string>();
        set.add(`+86${r.value.replace(/\D/g, "").slice(-11)}`);
        held.set(r.id_number, set);
      }
      for (const d of s.debtors) {
        const phones = downloaded
          .filter((r) => r["debtor_ref"] === d.debtor_ref && r["kind"] === "phone")
          .map((r) => r["value"]!.slice(1));
        const expected = consented.has(d.debtor_ref) ? [...(held.get(d.id_number) ?? [])].sort() : [];
        expect([...new Set(phones)].sort(), d.debtor_ref).toEqual(expected);
      }
    },
  );

  browserCrypto(
    "verifies the session's receipts and the checkpoint's consistency in the browser",
    async () => {
      await page.goto(`${net.hubUrl}/audit`);
      await page.locator("[data-testid=receipts] li").first().waitFor();
      const oks = await page.locator("[data-testid=receipts] li[data-ok=true]").count();
      const bad = await page.locator("[data-testid=receipts] li[data-ok=false]").count();
      expect(oks).toBeGreaterThanOrEqual(2);
      expect(bad).toBe(0);
      await page.reload();
      await expect.poll(() => page.getByTestId("consistency").textContent()).toMatch(/一致/);
      await shot("06-audit");
    },
  );

  it("switches language: zh-Hant and en, every page string from the dictionary", async () => {
    await page.getByTestId("language").selectOption("zh-Hant");
    await expect.poll(() => page.getByTestId("nav-match").textContent()).toBe("失聯修復");
    await page.getByTestId("language").selectOption("en");
    await expect.poll(() => page.getByTestId("nav-match").textContent()).toBe("Match debtors");
    await shot("07-audit-en");
    await page.getByTestId("language").selectOption("zh-Hans");
    await expect.poll(() => page.getByTestId("nav-match").textContent()).toBe("失联修复");
    await signOut();
  });

  it("other roles see their pages and not the others'", async () => {
    for (const role of ["risk_analyst", "member_dpo", "member_admin", "network_admin", "network_dpo"]) {
      await signIn(role);
      const nav = await page.locator(".sidebar nav a").allTextContents();
      expect(nav.includes("失联修复"), role).toBe(false);
      // The DPO page is in the navigation of the two DPO roles only (the API gates dpo.* the same way);
      // alerts and honeytokens are the network admin's, the opt-out registry the network DPO's.
      expect(nav.includes("数据保护"), role).toBe(role === "member_dpo" || role === "network_dpo");
      expect(nav.includes("告警与蜜罐"), role).toBe(role === "network_admin");
      expect(nav.includes("拒绝联系登记"), role).toBe(role === "network_dpo");
      await shot(`08-dashboard-${role}`);
      if (role === "network_admin") {
        await page.goto(`${net.hubUrl}/network`);
        await page.getByTestId("members-table").waitFor();
        await expect.poll(() => page.locator("[data-testid=members-table] tbody tr").count()).toBe(4);
        await expect.poll(() => page.locator("[data-testid=holders-table] .badge.ok").count()).toBe(3);
        await shot("09-network-admin");
      }
      if (role === "member_admin") {
        await page.goto(`${net.hubUrl}/member`);
        await page.getByTestId("staff-table").waitFor();
        await shot("10-member-admin");
      }
      if (role === "risk_analyst") {
        await page.goto(`${net.hubUrl}/exposure`);
        await page.getByTestId("csv-input").setInputFiles(files.exposure);
        await page.getByTestId("histogram").first().waitFor();
        expect(await page.getByTestId("exposure-table").textContent()).toContain("少于 k 家");
        await shot("11-exposure");
      }
      await signOut();
    }
  });

  it("a member admin edits a colleague's roles, and the change persists", async () => {
    await signIn("member_admin");
    await page.goto(`${net.hubUrl}/member`);
    const dpo = account("member_dpo").email;
    const cell = page.getByTestId(`staff-roles-${dpo}`);
    await cell.waitFor();
    expect(await cell.locator("[data-role]").evaluateAll((els) => els.map((e) => e.dataset["role"]))).toEqual(
      ["member_dpo"],
    );
    await cell.getByTestId("roles-edit").click();
    await cell.getByTestId("role-collections_operator").check();
    await cell.getByTestId("roles-save").click();
    await expect
      .poll(() => cell.locator("[data-role]").evaluateAll((els) => els.map((e) => e.dataset["role"]).sort()))
      .toEqual(["collections_operator", "member_dpo"]);
    await page.reload();
    await cell.locator("[data-role]").first().waitFor();
    await expect
      .poll(() => cell.locator("[data-role]").evaluateAll((els) => els.map((e) => e.dataset["role"]).sort()))
      .toEqual(["collections_operator", "member_dpo"]);
    await shot("12-member-roles");
    // Removing one's own admin role is refused, with the reason shown.
    const self = page.getByTestId(`staff-roles-${account("member_admin").email}`);
    await self.getByTestId("roles-edit").click();
    await self.getByTestId("role-member_admin").uncheck();
    await self.getByTestId("roles-save").click();
    await expect.poll(() => page.locator("p.error").first().textContent()).toContain("member_admin");
    await signOut();
  });

  it("the network admin sets a member's quota; the member admin sees it with the member's keys", async () => {
    const collector = MEMBERS.collector.slug;
    await signIn("network_admin");
    await page.goto(`${net.hubUrl}/network`);
    await page.getByTestId(`quota-input-${collector}`).fill("987654");
    await page.getByTestId(`quota-set-${collector}`).click();
    await expect
      .poll(() => page.getByTestId(`quota-${collector}`).textContent())
      .toBe((987654).toLocaleString("zh-CN"));
    await signOut();
    await signIn("member_admin");
    await page.goto(`${net.hubUrl}/member`);
    await expect
      .poll(() => page.getByTestId("quota-lookup").textContent())
      .toBe((987654).toLocaleString("zh-CN"));
    // The member's signing key as the hub holds it: the fingerprint of member.json's public key.
    const memberJson = JSON.parse(readFileSync(join(net.homeDir(collector), "member.json"), "utf8")) as {
      signingSecretKey: string;
    };
    const fingerprint = toBase64Url(
      keyFingerprint("ed25519", ed25519.getPublicKey(fromHex(memberJson.signingSecretKey))),
    );
    const signing = page.locator("[data-testid=keys-table] tbody tr[data-purpose=request_signing]");
    await expect.poll(() => signing.getAttribute("data-fingerprint")).toBe(fingerprint);
    await shot("19-member-keys-quotas");
    await signOut();
  });

  browserCrypto(
    "a member DPO: subject access report, consent replay and a signed export pack verified offline",
    async () => {
      const collector = MEMBERS.collector.slug;
      // The DPO's own key (`relink dpo keygen`), registered by the network admin for the collector.
      const dpoKeyFile = join(dir, "dpo.key");
      const kg = await net.relink(["dpo", "keygen", "--out", dpoKeyFile]);
      expect(kg.code, kg.stderr).toBe(0);
      const { dpoPublicKey } = JSON.parse(kg.stdout) as { dpoPublicKey: string };
      const reg = await net.relink([
        "admin",
        "dpo-key",
        "--hub",
        net.hubUrl,
        "--admin-key",
        net.adminKeyFile,
        "--slug",
        collector,
        "--key",
        dpoPublicKey,
      ]);
      expect(reg.code, reg.stderr).toBe(0);

      await signIn("member_dpo");
      // The member key computes the subject's tags through the key holders (metered, as the CLI's).
      await importKey(collector);
      await page.goto(`${net.hubUrl}/dpo`);
      // Bad key files are refused with the reason: garbage, and the member's key file instead of the DPO's.
      const garbage = join(dir, "not-a-dpo.key");
      writeFileSync(garbage, "-----BEGIN PRIVATE KEY-----\nnope\n");
      await page.getByTestId("dpo-key-file").setInputFiles(garbage);
      await expect.poll(() => page.getByTestId("dpo-key-error").textContent()).toContain("64");
      await page.getByTestId("dpo-key-file").setInputFiles(join(net.homeDir(collector), "member.json"));
      await expect.poll(() => page.getByTestId("dpo-key-error").textContent()).toContain("member.json");
      expect(await page.getByTestId("dpo-key-info").count()).toBe(0);
      await page.getByTestId("dpo-key-file").setInputFiles(dpoKeyFile);
      await page.getByTestId("dpo-key-info").waitFor();
      expect(await page.getByTestId("dpo-key-info").getAttribute("data-public-key")).toBe(dpoPublicKey);

      // A debtor the collector matched (with consent) earlier in this test, by resident ID only.
      const consented = new Set(s.consents.map((c) => c.debtor_ref));
      const subject = s.debtors.find((d) => consented.has(d.debtor_ref))!;
      await page.getByTestId("dpo-request").fill("SAR-2026-0001");
      await page.getByTestId("dpo-idNumber").fill(subject.id_number);
      await page.getByTestId("dpo-report-start").click();
      await page.getByTestId("dpo-report-status").waitFor();
      expect(await page.getByTestId("dpo-report-status").getAttribute("data-ok")).toBe("true");
      const lookupRow = page.locator("[data-testid=dpo-report-table] tbody tr[data-event=lookup]").first();
      await lookupRow.waitFor();
      const lookupText = (await lookupRow.textContent()) ?? "";
      expect(lookupText).toContain(MEMBERS.collector.name);
      expect(lookupText).toContain("portal-e2e-2026-12"); // the case register of this browser
      expect(lookupText).toContain("UTC+8");
      expect(lookupText).toContain("催收"); // purpose, in Chinese
      expect(await lookupRow.getAttribute("data-verified")).toBe("true");
      const leafIndex = Number(await lookupRow.getAttribute("data-index"));
      await shot("15-dpo-report");
      // Printable: the print stylesheet shows only the report, headed in Chinese and English.
      await page.emulateMedia({ media: "print" });
      expect(await page.locator(".sidebar").isVisible()).toBe(false);
      expect(await page.getByTestId("dpo-report-start").isVisible()).toBe(false);
      const printHead = page.locator(".dpo-report div.print-only h1");
      expect(await printHead.isVisible()).toBe(true);
      expect(await printHead.textContent()).toMatch(/个人信息查阅报告.*Subject access report/s);
      expect(await page.locator("[data-testid=dpo-report-table] thead").textContent()).toContain(
        "Receipt verified",
      );
      await page.pdf({ path: join(SHOTS, "15-dpo-report.pdf"), landscape: true });
      await page.emulateMedia({ media: "screen" });

      const [csvDownload] = await Promise.all([
        page.waitForEvent("download"),
        page.getByTestId("dpo-report-csv").click(),
      ]);
      const reportCsv = readFileSync(await csvDownload.path(), "utf8");
      expect(reportCsv.startsWith("\ufeff")).toBe(true);
      const csvRows = parseCsv(reportCsv);
      const lookupCsv = csvRows.find((r) => r["event"] === "lookup")!;
      expect(lookupCsv["case_reference"]).toBe("portal-e2e-2026-12");
      expect(lookupCsv["leaf_index"]).toBe(String(leafIndex)); // a number, not apostrophe-quoted text
      expect(lookupCsv["member"]).toBe(collector);
      expect(lookupCsv["consent_references"]).toContain(subject.debtor_ref);
      expect(csvRows.every((r) => r["receipt_verified"] === "yes")).toBe(true);

      // The JSON as received; one entry altered (another purpose) must fail verification, loudly.
      const [jsonDownload] = await Promise.all([
        page.waitForEvent("download"),
        page.getByTestId("dpo-report-json").click(),
      ]);
      const report = JSON.parse(readFileSync(await jsonDownload.path(), "utf8")) as {
        entries: { index: number; purpose: string | null }[];
      };
      const intact = join(dir, "report-intact.json");
      writeFileSync(intact, JSON.stringify(report));
      await page.getByTestId("dpo-verify-file").setInputFiles(intact);
      await expect.poll(() => page.getByTestId("dpo-verify-status").getAttribute("data-ok")).toBe("true");
      const altered = structuredClone(report);
      altered.entries.find((e) => e.index === leafIndex)!.purpose = "fraud_prevention";
      const alteredFile = join(dir, "report-altered.json");
      writeFileSync(alteredFile, JSON.stringify(altered));
      await page.getByTestId("dpo-verify-file").setInputFiles(alteredFile);
      await expect.poll(() => page.getByTestId("dpo-verify-status").getAttribute("data-ok")).toBe("false");
      const rejected = (await page.getByTestId("dpo-verify-status").textContent()) ?? "";
      expect(rejected).toContain("验证失败");
      expect(rejected).toContain(String(leafIndex));
      await shot("16-dpo-report-altered");

      // Consent replay of the lookup: covered at query time, the receipt verified here.
      await page.getByTestId("dpo-replay-index").fill(String(leafIndex));
      await page.getByTestId("dpo-replay-start").click();
      await page.getByTestId("dpo-replay-result").waitFor();
      expect(await page.getByTestId("dpo-replay-receipt").getAttribute("data-ok")).toBe("true");
      expect(
        Number(await page.getByTestId("dpo-replay-result").getAttribute("data-covered")),
      ).toBeGreaterThan(0);
      await shot("17-dpo-replay");
      // A log index that does not exist: the hub's NOT_FOUND, shown; no stale result left on the page.
      await page.getByTestId("dpo-replay-index").fill("99999999");
      await page.getByTestId("dpo-replay-start").click();
      await expect.poll(() => page.getByTestId("dpo-replay-error").textContent()).toContain("NOT_FOUND");
      expect(await page.getByTestId("dpo-replay-result").count()).toBe(0);

      // The export pack: built and signed in the worker, downloaded as one tar, verified offline by the
      // verifier inside it; then one byte of the slice changed must be rejected.
      await page.getByTestId("dpo-export-pipia").fill("PIPIA-2026-001");
      const [packDownload] = await Promise.all([
        page.waitForEvent("download"),
        page.getByTestId("dpo-export-start").click(),
      ]);
      const done = page.getByTestId("dpo-export-done");
      await done.waitFor();
      expect(await done.getAttribute("data-signer")).toBe(dpoPublicKey);
      const name = (await done.getAttribute("data-name"))!;
      const unpacked = join(dir, "export");
      mkdirSync(unpacked, { recursive: true });
      const tarFile = join(unpacked, `${name}.tar`);
      await packDownload.saveAs(tarFile);
      execFileSync("tar", ["-xf", tarFile, "-C", unpacked]);
      const packDir = join(unpacked, name);
      expect(readFileSync(join(packDir, "verify.mjs"), "utf8")).toBe(
        readFileSync(fileURLToPath(import.meta.resolve("@relink/sdk/verify-export.mjs")), "utf8"),
      );
      const verify = (cwd: string) =>
        spawnSync(process.execPath, ["verify.mjs", "--signer-key", dpoPublicKey, "--log-key", net.logKey], {
          cwd,
          encoding: "utf8",
        });
      const ok = verify(packDir);
      expect(ok.status, `${ok.stdout}\n${ok.stderr}`).toBe(0);
      expect(ok.stdout).toContain("EXPORT PACK OK");
      await shot("18-dpo-export");
      const slicePath = join(packDir, "slice.json");
      const slice = readFileSync(slicePath, "utf8");
      writeFileSync(slicePath, slice.replace('"from": 0', '"from": 1'));
      const bad = verify(packDir);
      expect(bad.status).toBe(1);
      expect(`${bad.stdout}${bad.stderr}`).toContain("EXPORT PACK REJECTED");

      // The DPO rotates its own key in the browser (ADR 0037): the new key file is downloaded, the page and the
      // hub switch to it, and the old key is refused.
      await page.getByTestId("dpo-rotate-start").click();
      const [keyDownload] = await Promise.all([
        page.waitForEvent("download"),
        page.getByTestId("dpo-rotate-confirm").click(),
      ]);
      const newDpoKey = readFileSync(await keyDownload.path(), "utf8");
      expect(newDpoKey).toMatch(/^[0-9a-f]{64}\n$/);
      const oldSecret = fromHex(readFileSync(dpoKeyFile, "utf8").trim());
      const newSecret = fromHex(newDpoKey.trim());
      const dpoFp = (secret: Uint8Array) =>
        toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(secret)));
      const rotated = page.getByTestId("dpo-rotate-done");
      await expect.poll(() => rotated.getAttribute("data-new")).toBe(dpoFp(newSecret));
      expect(await rotated.getAttribute("data-old")).toBe(dpoFp(oldSecret));
      await expect
        .poll(() => page.getByTestId("dpo-key-info").getAttribute("data-public-key"))
        .toBe(toBase64Url(ed25519.getPublicKey(newSecret)));
      await shot("18b-dpo-key-rotated");
      const asDpo = (secret: Uint8Array) =>
        createHubClient({ url: net.hubUrl, signer: ed25519Signer(secret) }).dpo.commitmentKey.query();
      await expect(asDpo(oldSecret)).rejects.toThrow(/no active DPO key/);
      expect((await asDpo(newSecret)).memberId).toBeTruthy();
      // The report still works from the page with the rotated key.
      await page.getByTestId("dpo-report-start").click();
      await expect.poll(() => page.getByTestId("dpo-report-status").getAttribute("data-ok")).toBe("true");
      await signOut();
    },
  );

  browserCrypto(
    "network governance: honeytokens planted in the browser catch a fishing lookup; the admin reinstates the member",
    async () => {
      const N = NETWORK_MEMBER.slug;
      const C = MEMBERS.collector.slug;
      // A network admin without a grant for the network-owned member cannot publish with its key.
      await signIn("network_admin");
      await importKey(N);
      await page.goto(`${net.hubUrl}/abuse`);
      await page.getByTestId("honeytoken-note").fill("e2e synthetic identity 1");
      await page.getByTestId("honeytoken-file").setInputFiles(files.honeytokens);
      await page.getByTestId("honeytoken-start").click();
      await expect.poll(() => page.locator("p.error").first().textContent()).toContain("directory.publish");
      expect(await page.getByTestId("honeytoken-done").count()).toBe(0);
      await signOut();

      // The network operator (network admin + data engineer of the network-owned member) plants them.
      await signInAs(netops.email);
      await importKey(N);
      await page.goto(`${net.hubUrl}/abuse`);
      await page.getByTestId("honeytoken-note").fill("e2e synthetic identity 1");
      await page.getByTestId("honeytoken-file").setInputFiles(files.honeytokens);
      await page.getByTestId("honeytoken-start").click();
      const done = page.getByTestId("honeytoken-done");
      await done.waitFor();
      // One tag per identifier of the identity (resident ID, phones, name + date of birth).
      expect(Number(await done.getAttribute("data-planted"))).toBeGreaterThanOrEqual(2);
      await shot("21-honeytokens-planted");

      // The collector goes fishing for the synthetic identity: a self-declared consent (CLI), a match (SDK).
      const bait = {
        debtor_ref: "FISH-1",
        id_number: ghost!.idNumber,
        name: ghost!.name,
        dob: ghost!.dob,
        subject_phone: ghost!.phones[0]!,
      };
      const fishConsents = join(dir, "fish-consents.csv");
      writeFileSync(
        fishConsents,
        csv([
          {
            ...bait,
            purpose: "debt_collection",
            legal_basis: "consent",
            categories: "contact",
            granted_at: "2026-01-01",
            expires_at: "2027-12-31",
            evidence_sha256: createHash("sha256").update("fabricated").digest("hex"),
          },
        ]),
      );
      const imported = await net.relink(["consent", "import", fishConsents, "--no-progress"], C);
      expect(imported.code, imported.stderr).toBe(0);
      const collector = await memberNode(C);
      const fished = await collector.match(
        parseDebtorRows([bait], new Date()).rows,
        "debt_collection",
        "fishing-case",
      );
      const receiptIndex = (fished.receipts[0] as { index: number }).index;
      expect(receiptIndex).toBeGreaterThan(0);

      // The alert appears (the page polls the hub): the member and the lookup's receipt, acted on.
      const hit = page.locator(`[data-testid=honeytoken-hits] li[data-member="${C}"]`);
      await hit.waitFor();
      expect(await hit.getAttribute("data-receipt")).toBe(String(receiptIndex));
      expect(await hit.textContent()).toContain(String(receiptIndex));
      const row = page.locator(`[data-testid=alerts-table] tbody tr[data-kind="honeytoken.lookup"]`).first();
      expect(await row.getAttribute("data-member")).toBe(C);
      expect(await row.getAttribute("data-action")).toBe("suspend");
      expect(await row.textContent()).toContain("查询蜜罐记录");
      // Filters: by member and kind.
      await page.getByTestId("alerts-kind").selectOption("honeytoken.lookup");
      await page.getByTestId("alerts-member").selectOption(C);
      await expect
        .poll(() => page.locator("[data-testid=alerts-table] tbody tr").evaluateAll((els) => els.length))
        .toBeGreaterThanOrEqual(1);
      expect(
        await page
          .locator("[data-testid=alerts-table] tbody tr")
          .evaluateAll((els) => els.every((e) => e.dataset["kind"] === "honeytoken.lookup")),
      ).toBe(true);
      // The ladder: suspended, the step with its own log leaf (after the lookup's); then reinstated.
      const ladder = page.locator(`[data-testid=sanctions-table] tbody tr[data-member="${C}"]`);
      await expect.poll(() => ladder.getAttribute("data-status")).toBe("suspended");
      const step = ladder.locator("li[data-step=suspend]").first();
      expect(Number(await step.getAttribute("data-leaf"))).toBeGreaterThan(receiptIndex);
      await shot("22-alerts-suspended");
      await page.getByTestId(`reinstate-${C}`).click();
      await expect.poll(() => ladder.getAttribute("data-status")).toBe("active");
      await shot("23-alerts-reinstated");
      // The member works again (the key holders re-read its status within their directory cache's lifetime),
      // with an ordinary lookup: another look at the honeytoken would suspend it again.
      const works = () =>
        collector.match(ordinaryDebtor(), "debt_collection", "after-reinstate").then(
          (r) => r.results[0]!.status,
          (e: Error) => e.message,
        );
      await expect.poll(works, { interval: 500 }).toBe("matched");
      await signOut();
    },
  );

  browserCrypto(
    "the network DPO registers an opt-out in the browser; the next match returns nothing for the subject",
    async () => {
      const N = NETWORK_MEMBER.slug;
      const C = MEMBERS.collector.slug;
      const collector = await memberNode(C);
      // A consented debtor whose contacts the lenders hold: matched before the opt-out.
      const subject = consentedHeldDebtor();
      const rows = ordinaryDebtor();
      const before = await collector.match(rows, "debt_collection", "opt-out-before");
      expect(before.results[0]!.status).toBe("matched");

      // Wrong roles: the network DPO cannot read alerts or plant, and does not see the admin's page.
      await signIn("network_dpo");
      const cookie = (await browser.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
      const refused = await fetch(`${net.hubUrl}/api/trpc/portal.alerts`, { headers: { cookie } });
      expect(refused.status).toBe(403);
      const plant = await fetch(`${net.hubUrl}/api/trpc/portal.plantHoneytokens`, {
        method: "POST",
        headers: { cookie, origin: net.hubUrl, "content-type": "application/json" },
        body: "{}",
      });
      expect(plant.status).toBe(403);
      await page.goto(`${net.hubUrl}/abuse`);
      await expect.poll(() => page.locator("p.error").first().textContent()).toContain("portal.alerts");

      await importKey(N);
      await page.goto(`${net.hubUrl}/opt-outs`);
      await page.getByTestId("optout-request").fill("OPTOUT-E2E-1");
      await page.getByTestId("optout-idNumber").fill(subject.id_number);
      await page.getByTestId("optout-phone").fill(subject.subject_phone);
      await page.getByTestId("optout-name").fill(subject.name);
      await page.getByTestId("optout-dob").fill(subject.dob);
      await page.getByTestId("optout-start").click();
      const done = page.getByTestId("optout-done");
      await done.waitFor();
      const registered = Number(await done.getAttribute("data-registered"));
      expect(registered).toBe(3); // resident ID, mobile, name + date of birth
      const entry = page.locator(`[data-testid=optout-registry] tbody tr[data-request="OPTOUT-E2E-1"]`);
      await entry.waitFor();
      expect(await entry.textContent()).toContain(String(registered));
      expect(Number(await page.getByTestId("optout-registry").getAttribute("data-total"))).toBe(registered);
      // The registry shows references and counts, never an identifier (the hub never had one).
      expect(await page.getByTestId("optout-registry").textContent()).not.toContain(subject.id_number);
      await shot("24-opt-out");

      const after = await collector.match(rows, "debt_collection", "opt-out-after");
      expect(after.results[0]).toMatchObject({ status: "no_match", contacts: [] });

      // The network DPO's subject access report (ADR 0063): the network DPO key (in the hub's `dpoKeys`),
      // tags through the key holders with the network-owned member's key.
      await page.goto(`${net.hubUrl}/dpo`);
      await page.getByTestId("dpo-key-file").setInputFiles(net.networkDpoKeyFile);
      await page.getByTestId("dpo-key-info").waitFor();
      await page.getByTestId("dpo-request").fill("SAR-NET-2026-0001");
      await page.getByTestId("dpo-idNumber").fill(subject.id_number);
      await page.getByTestId("dpo-report-start").click();
      await page.getByTestId("dpo-report-status").waitFor();
      expect(await page.getByTestId("dpo-report-status").getAttribute("data-ok")).toBe("true");
      const lookups = page.locator("[data-testid=dpo-report-table] tbody tr[data-event=lookup]");
      await lookups.first().waitFor();
      expect(await lookups.first().textContent()).toContain(MEMBERS.collector.name);
      expect(await lookups.count()).toBeGreaterThanOrEqual(2); // before and after the opt-out, at least
      await shot("25-network-dpo-report");
      await signOut();

      // The plain network admin cannot use the DPO's registry.
      await signIn("network_admin");
      const adminCookie = (await browser.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
      const optOuts = await fetch(`${net.hubUrl}/api/trpc/portal.optOuts`, {
        headers: { cookie: adminCookie },
      });
      expect(optOuts.status).toBe(403);
      await page.goto(`${net.hubUrl}/opt-outs`);
      await expect.poll(() => page.locator("p.error").first().textContent()).toContain("portal.optOuts");
      await signOut();
    },
  );

  browserCrypto(
    "a risk analyst runs exposure queries in the browser: per-applicant figures equal the plaintext oracle",
    async () => {
      // Three more lenders join now (the network admin's member count above stays the skip-trace three);
      // every lender answers from its own node (`relink serve`), as in the demo's exposure step.
      for (const m of [MEMBERS.auto, ...EXTRA_LENDERS]) await addMember(net, m);
      const serving = Object.entries(x.books).map(([slug, rows]) => {
        const book = join(dir, `${slug}-loans.csv`);
        writeFileSync(book, csv(rows));
        return net.daemon(`serve-${slug}`, ["serve", "--book", book], slug);
      });
      await Promise.all(serving.map((p) => p.waitFor(/"event":"book\.registered"/)));
      // The bank's consents for credit assessment (the CLI; the browser's consent import is tested above).
      const c = await net.relink(["consent", "import", files.creditConsents, "--no-progress"], x.querier);
      expect(c.code, c.stderr).toBe(0);

      await signIn("risk_analyst");
      await importKey(x.querier);
      await page.goto(`${net.hubUrl}/exposure`);
      await page.getByTestId("case-id").fill("portal-e2e-exposure");
      await page.getByTestId("exposure-file").setInputFiles(files.applicants);
      await page.getByTestId("exposure-start").click();
      await page.getByTestId("exposure-summary").waitFor();
      expect(await page.getByTestId("exposure-summary").textContent()).toContain(
        "4 家机构中 4 家已答复 · k = 3",
      );
      const oracle = exposureOracle(
        x.books,
        x.querier,
        x.applicants.map((a) => a.id_number),
        { k: 3, asOf },
      );
      const rows = page.locator("[data-testid=exposure-table] tbody tr");
      await expect.poll(() => rows.count()).toBe(x.applicants.length);
      let answered = 0;
      let suppressed = 0;
      for (const a of x.applicants) {
        const row = page.locator(`[data-testid=exposure-table] tbody tr[data-ref="${a.applicant_ref}"]`);
        const want = oracle.get(a.id_number)!;
        if (want === "suppressed") {
          suppressed++;
          expect(await row.getAttribute("data-status"), a.applicant_ref).toBe("suppressed");
          // Suppressed rows say why, and show no figure.
          expect(await row.textContent()).toContain("少于 k 家");
          expect(await row.getAttribute("data-figures")).toBe("");
        } else {
          answered++;
          expect(await row.getAttribute("data-status"), a.applicant_ref).toBe("ok");
          expect(await row.getAttribute("data-figures"), a.applicant_ref).toBe(
            EXPOSURE_FEATURES.map((f) => `${f}=${want[f]}`).join(";"),
          );
        }
      }
      // The scenario exercises both branches.
      expect(answered).toBeGreaterThan(2);
      expect(suppressed).toBeGreaterThan(0);
      await page.getByTestId("histogram").first().waitFor();
      await shot("13-exposure-query");

      // The portfolio: the hub's noisy totals, post-processed (non-negative, 95 % interval around the total).
      await page.getByTestId("exposure-mode").selectOption("aggregate");
      await page.getByTestId("case-id").fill("portal-e2e-portfolio");
      await page.getByTestId("exposure-file").setInputFiles(files.portfolio);
      await page.getByTestId("exposure-start").click();
      await page.getByTestId("exposure-aggregate").waitFor();
      const portfolioOracle = exposureOracle(
        x.books,
        x.querier,
        x.portfolio.map((p) => p.id_number),
        { k: 3, asOf },
      );
      const expectAnswered = [...portfolioOracle.values()].filter((v) => v !== "suppressed").length;
      expect(await page.getByTestId("exposure-counts").textContent()).toContain(`已答复 ${expectAnswered}`);
      const figures = page.locator("[data-testid=exposure-aggregate] tbody tr");
      expect(await figures.count()).toBe(EXPOSURE_FEATURES.length);
      for (const f of EXPOSURE_FEATURES) {
        const row = page.locator(`[data-testid=exposure-aggregate] tbody tr[data-feature=${f}]`);
        const total = Number(await row.getAttribute("data-total"));
        const [lo, hi] = ((await row.getAttribute("data-ci95")) ?? "").split(",").map(Number);
        expect(Number.isInteger(total) && total >= 0, f).toBe(true);
        expect(lo! <= total && total <= hi!, `${f}: ${total} in [${lo}, ${hi}]`).toBe(true);
        // What the analyst reads: the total with thousands separators, and the interval.
        expect(await row.textContent()).toContain(total.toLocaleString("zh-CN"));
      }
      await shot("14-exposure-portfolio");
      await signOut();
    },
  );

  browserCrypto(
    "a member admin rotates the signing key in the browser (ADR 0068); the hub and the CLI follow",
    async () => {
      const collector = MEMBERS.collector.slug;
      const homeFile = join(net.homeDir(collector), "member.json");
      const before = JSON.parse(readFileSync(homeFile, "utf8")) as Record<string, unknown> & {
        signingSecretKey: string;
        recordKey: string;
      };
      const fp = (secretHex: string) =>
        toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(fromHex(secretHex))));
      await signIn("member_admin");
      await importKey(collector);
      await page.goto(`${net.hubUrl}/member`);
      await page.getByTestId("rotate-start").click();
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByTestId("rotate-confirm").click(),
      ]);
      // The downloaded key file is a member.json with a new signing key and the same record key.
      const keyFile = JSON.parse(readFileSync(await download.path(), "utf8")) as {
        signingSecretKey: string;
        recordKey: string;
        hubUrl: string;
      };
      expect(keyFile.recordKey).toBe(before.recordKey);
      expect(keyFile.signingSecretKey).toMatch(/^[0-9a-f]{64}$/);
      expect(keyFile.signingSecretKey).not.toBe(before.signingSecretKey);
      const done = page.getByTestId("rotate-done");
      await expect.poll(() => done.getAttribute("data-new")).toBe(fp(keyFile.signingSecretKey));
      expect(await done.getAttribute("data-old")).toBe(fp(before.signingSecretKey));
      // The hub's view on the same page: the new key is the member's only signing key.
      const signing = page.locator("[data-testid=keys-table] tbody tr[data-purpose=request_signing]");
      await expect
        .poll(() => signing.evaluateAll((els) => els.map((e) => e.dataset["fingerprint"])))
        .toEqual([fp(keyFile.signingSecretKey)]);
      await shot("20-member-key-rotated");
      // The browser's stored key is the new one.
      await page.goto(`${net.hubUrl}/keys`);
      await expect
        .poll(() => page.getByTestId("key-info").textContent())
        .toContain(fp(keyFile.signingSecretKey).slice(0, 22));
      await signOut();
      // The member node still on the old key is refused by the hub; with the downloaded key it works again.
      const refused = await net.relink(["key", "rotate", "--no-progress"], collector);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/UNKNOWN_KEY/);
      writeFileSync(
        homeFile,
        `${JSON.stringify({ ...before, signingSecretKey: keyFile.signingSecretKey }, null, 2)}\n`,
        { mode: 0o600 },
      );
      const matched = await net.relink(
        ["match", files.debtors, "--purpose", "debt_collection", "--no-progress", "--quiet"],
        collector,
      );
      expect(matched.code, matched.stderr).toBe(0);
    },
  );

  browserCrypto("no request the browser sent carries a raw identifier or contact value", () => {
    const needles = new Set<string>();
    for (const r of [...s.books.bank, ...s.debtors, ...s.consents]) {
      needles.add(r.id_number);
      needles.add(r.name);
    }
    for (const r of s.books.bank) {
      needles.add(r.kind === "phone" ? r.value.replace(/\D/g, "").slice(-11) : r.value);
    }
    for (const d of s.debtors) needles.add(d.subject_phone.replace(/\D/g, "").slice(-11));
    // The exposure queries' applicants and portfolio (identifiers the worker turned into tags).
    for (const r of [...x.applicants, ...x.portfolio]) needles.add(r.id_number);
    // The honeytoken identity the network planted from the browser, every contact value of its file.
    needles.add(ghost!.idNumber);
    needles.add(ghost!.name);
    for (const r of contactBook(9192, [ghost!], { coverage: 1, asOf }))
      needles.add(r.kind === "phone" ? r.value.replace(/\D/g, "").slice(-11) : r.value);
    const haystacks = browser.requests.map((r) => {
      let url = r.url;
      try {
        url = `${url}\n${decodeURIComponent(url)}`;
      } catch {}
      return `${r.method} ${url}\n${JSON.stringify(r.headers)}\n${r.body}`;
    });
    // Positive controls: the recorder saw the worker's traffic to the key holders and the hub, and sees
    // bodies (the sign-in form carries the e-mail address).
    expect(browser.requests.some((r) => r.url.includes("/v1/evaluate") && r.method === "POST")).toBe(true);
    expect(browser.requests.some((r) => r.url.includes("/api/trpc/directory.publish"))).toBe(true);
    expect(browser.requests.some((r) => r.url.includes("/api/trpc/lookup.run"))).toBe(true);
    expect(browser.requests.some((r) => r.url.includes("/api/trpc/exposure.query"))).toBe(true);
    expect(browser.requests.some((r) => r.url.includes("/api/trpc/dpo.subjectReport"))).toBe(true);
    expect(browser.requests.some((r) => r.url.includes("/api/trpc/portal.plantHoneytokens"))).toBe(true);
    expect(browser.requests.some((r) => r.url.includes("/api/trpc/portal.registerOptOuts"))).toBe(true);
    expect(haystacks.some((h) => h.includes(encodeURIComponent(account("data_engineer").email)))).toBe(true);
    expect(needles.size).toBeGreaterThan(100);
    const leaks = [...needles].filter((n) => n.length >= 5 && haystacks.some((h) => h.includes(n)));
    expect(leaks).toEqual([]);
  });
});
