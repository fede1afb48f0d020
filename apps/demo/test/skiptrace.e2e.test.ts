/**
 * The skip-trace network end to end, with real processes (hub, three key holders, `relink` CLIs) on
 * embedded PGlite and on the local PostgreSQL: members publish, a collector matches against a plaintext
 * oracle, and each attack in the issue is tried.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromHex, SIGNATURE_HEADERS } from "@relink/protocol";
import { ed25519Signer, hubAudienceOf, MemberNode, signedFetch, wireError } from "@relink/sdk";
import { verifyReceipt } from "@relink/tlog";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeCsvFile } from "../src/csv.ts";
import { addMember, type RunningNetwork, startNetwork } from "../src/network.ts";
import { freshServerDatabase } from "../src/postgres.ts";
import {
  buildScenario,
  DEMO_EVALUATION_CAPS,
  DEMO_EXPOSURE,
  expectedMatches,
  MEMBERS,
  type Scenario,
} from "../src/scenario.ts";
import { contactBook, makePopulation } from "../src/synthetic.ts";
import { dumpHubDatabase } from "./hub-dump.ts";

const serverUrl = process.env["TEST_DATABASE_URL"];
const today = new Date().toISOString().slice(0, 10);

interface MatchJson {
  results: {
    debtor_ref: string;
    status: string;
    contacts: { kind: string; value: string; corroborating_members: number }[];
  }[];
}

for (const backend of ["pglite", "postgres"] as const) {
  const run = backend === "postgres" && !serverUrl ? describe.skip : describe;
  run(`skip-trace network of real processes [${backend}]`, () => {
    let dir: string;
    let net: RunningNetwork;
    let serverDb: { url: string; drop(): Promise<void> } | undefined;
    let s: Scenario;
    const file = (name: string) => join(dir, name);
    const C = MEMBERS.collector.slug;

    async function relink(args: string[], home?: string) {
      return net.relink([...args, "--no-progress"], home);
    }
    async function match(): Promise<MatchJson> {
      const r = await relink(["match", file("debtors.csv"), "--purpose", "debt_collection", "--json"], C);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as MatchJson;
    }
    function collectorSecrets() {
      const home = JSON.parse(readFileSync(join(net.homeDir(C), "member.json"), "utf8"));
      return { signer: ed25519Signer(fromHex(home.signingSecretKey)), recordKey: fromHex(home.recordKey) };
    }
    async function collectorNode(
      onProgress?: (stage: string, done: number, total: number) => void,
    ): Promise<MemberNode> {
      return MemberNode.connect({
        hubUrl: net.hubUrl,
        secrets: collectorSecrets(),
        ...(onProgress ? { onProgress } : {}),
      });
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `relink-e2e-${backend}-`));
      serverDb = backend === "postgres" ? await freshServerDatabase(serverUrl!, "relink_e2e") : undefined;
      net = await startNetwork({
        dir,
        ...(serverDb ? { databaseUrl: serverDb.url } : {}),
        checkpointIntervalMs: 1000,
        evaluationCaps: { members: DEMO_EVALUATION_CAPS },
        exposure: DEMO_EXPOSURE,
      });
      for (const m of Object.values(MEMBERS)) await addMember(net, m);
      s = buildScenario({ seed: 77, population: 120, debtors: 40, unconsented: 8, asOf: today });
      writeCsvFile(file("bank.csv"), s.books.bank);
      writeCsvFile(file("consumer.csv"), s.books.consumer);
      writeCsvFile(file("auto.csv"), s.books.auto);
      writeCsvFile(file("debtors.csv"), s.debtors);
      writeCsvFile(file("consents.csv"), s.consents);
      for (const [f, m] of [
        ["bank.csv", MEMBERS.bank],
        ["consumer.csv", MEMBERS.consumer],
        ["auto.csv", MEMBERS.auto],
      ] as const) {
        const r = await relink(["publish", file(f)], m.slug);
        expect(r.code, r.stderr).toBe(0);
      }
      const r = await relink(["consent", "import", file("consents.csv")], C);
      expect(r.code, r.stderr).toBe(0);
    });

    afterAll(async () => {
      await net?.stop();
      await serverDb?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("the collector learns exactly its consented debtors' contacts (plaintext oracle) and nothing else", async () => {
      const oracle = expectedMatches(s);
      const got = await match();
      expect(got.results).toHaveLength(s.debtors.length);
      let compared = 0;
      for (const d of got.results) {
        const seen = new Set(d.contacts.map((c) => `${c.kind}:${c.value}`));
        expect(seen, d.debtor_ref).toEqual(oracle.get(d.debtor_ref));
        compared += seen.size;
      }
      // The scenario is rich enough for the comparison to mean something.
      expect(compared).toBeGreaterThan(40);
      const unconsented = s.debtors.slice(-8).map((d) => d.debtor_ref);
      for (const ref of unconsented)
        expect(got.results.find((r) => r.debtor_ref === ref)?.status).toBe("no_consent");
      // Corroboration counts members, and some contacts are held by several.
      expect(got.results.some((r) => r.contacts.some((c) => c.corroborating_members >= 2))).toBe(true);
    });

    it("receipts from the demo network carry two witness cosignatures and are kept in each member home", async () => {
      await match();
      expect(net.witnessKeys).toHaveLength(2);
      let checked = 0;
      for (const m of Object.values(MEMBERS)) {
        const dir = join(net.homeDir(m.slug), "receipts");
        const files = existsSync(dir) ? readdirSync(dir) : [];
        expect(files.length, m.slug).toBeGreaterThan(0);
        for (const f of files) {
          const v = verifyReceipt(readFileSync(join(dir, f), "utf8"), {
            logKey: net.logKey,
            witnesses: net.witnessKeys,
            k: 2,
          });
          expect(v.ok, `${m.slug}/${f}: ${v.ok ? "" : v.message}`).toBe(true);
          if (v.ok) expect(v.cosignatures.length).toBeGreaterThanOrEqual(2);
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(4);
      // The collector's monitor: the latest checkpoint, cosigned by both, every leaf re-hashed, receipts match.
      const v = await net.relink(["log", "verify"], C);
      expect(v.stderr).toBe("");
      expect(v.stdout).toMatch(
        /log OK: .* 2 witness cosignature\(s\); \d+ leaves re-hashed to its root; \d+ kept receipt\(s\) match/,
      );
    });

    it("the collector's DPO gets a verified subject access report naming the case and the consent (PIPL Art. 45)", async () => {
      const key = file("collector-dpo.key");
      const keygen = await net.relink(["dpo", "keygen", "--out", key]);
      expect(keygen.code, keygen.stderr).toBe(0);
      const { dpoPublicKey } = JSON.parse(keygen.stdout) as { dpoPublicKey: string };
      const admin = ["--hub", net.hubUrl, "--admin-key", net.adminKeyFile, "--slug", C];
      expect((await net.relink(["admin", "dpo-key", ...admin, "--key", dpoPublicKey])).code).toBe(0);
      const d = s.debtors[0]!; // consented, and matched by the test above
      const out = file("sar-1");
      const r = await relink(
        [
          "dpo",
          "subject-report",
          "--id-number",
          d.id_number,
          "--request",
          "SAR-1",
          "--dpo-key",
          key,
          "--out",
          out,
        ],
        C,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/every receipt verified/);
      const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as {
        entries: { event: string; member: { slug: string }; consents: { reference: string }[] }[];
      };
      const events = report.entries.map((e) => e.event);
      expect(events).toContain("consent.registered");
      expect(events).toContain("lookup");
      for (const e of report.entries) expect(e.member.slug).toBe(C);
      const lookup = report.entries.find((e) => e.event === "lookup")!;
      // The consent as the collector wrote it (`<debtor_ref>#<n>`), only this identifier's.
      expect(lookup.consents).toHaveLength(1);
      expect(lookup.consents[0]!.reference).toMatch(new RegExp(`^${d.debtor_ref}#\\d$`));
      // The case id `relink match` generated is named, from the member's own case register.
      const csv = readFileSync(join(out, "report.csv"), "utf8");
      expect(csv).toMatch(/,lookup,.*,match-\d{4}-\d{2}-\d{2}T/);
      expect(readFileSync(join(out, "report.html"), "utf8")).toContain("个人信息查阅报告");
      // An administrator's key is not a DPO key.
      const refused = await relink(
        [
          "dpo",
          "subject-report",
          "--id-number",
          d.id_number,
          "--request",
          "SAR-2",
          "--dpo-key",
          net.adminKeyFile,
          "--out",
          file("sar-2"),
        ],
        C,
      );
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/UNKNOWN_KEY/);
    });

    it("a revoked consent blocks the lookup; an expired one never opens it", async () => {
      // Re-importing the same consent file is a no-op: nothing registered, nothing logged.
      const again = await relink(["consent", "import", file("consents.csv"), "--json"], C);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({
        registered: 0,
        updated: 0,
        receipts: expect.stringMatching(/^0/),
      });
      expect(JSON.parse(again.stdout).unchanged).toBeGreaterThan(0);
      // An unknown reference is an error naming it, and revokes nothing.
      const revoked = s.consents[0]!.debtor_ref;
      const unknown = await relink(["consent", "revoke", revoked, "NO-SUCH-REF"], C);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(
        /NOT_FOUND: unknown consent reference\(s\): "NO-SUCH-REF"; nothing was revoked/,
      );
      // Revocation saves its receipt like a lookup's.
      const receipts = file("revoke-receipts");
      const r = await relink(["consent", "revoke", revoked, "--receipts", receipts, "--json"], C);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).revoked).toBeGreaterThan(0);
      expect(readdirSync(receipts).filter((f) => f.startsWith("revoke-"))).toHaveLength(1);
      const expiredRef = s.debtors.at(-1)!;
      writeCsvFile(file("expired.csv"), [
        {
          ...expiredRef,
          purpose: "debt_collection",
          legal_basis: "consent",
          categories: "contact",
          granted_at: "2024-01-01",
          expires_at: "2025-01-01",
          evidence_sha256: createHash("sha256").update("expired-consent-evidence").digest("hex"),
        },
      ]);
      expect((await relink(["consent", "import", file("expired.csv")], C)).code).toBe(0);
      const got = await match();
      expect(got.results.find((x) => x.debtor_ref === revoked)?.status).toBe("no_consent");
      expect(got.results.find((x) => x.debtor_ref === revoked)?.contacts).toEqual([]);
      expect(got.results.find((x) => x.debtor_ref === expiredRef.debtor_ref)?.status).toBe("no_consent");
      // The others still match: the block is per consent, not a general failure.
      expect(got.results.filter((x) => x.status === "matched").length).toBeGreaterThan(10);
    });

    it("a suspended member is refused, and served again once reinstated", async () => {
      const admin = ["--hub", net.hubUrl, "--admin-key", net.adminKeyFile, "--slug", C];
      expect((await net.relink(["admin", "suspend", ...admin, "--reason", "fishing alert"])).code).toBe(0);
      const refused = await relink(["match", file("debtors.csv"), "--purpose", "debt_collection"], C);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/MEMBER_SUSPENDED|suspended/);
      expect((await net.relink(["admin", "reinstate", ...admin])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 2500)); // key holders refresh the member directory (TTL 2 s)
      expect((await match()).results.length).toBe(s.debtors.length);
    });

    it("quotas bite with a clear error and a retry-after", async () => {
      const admin = ["--hub", net.hubUrl, "--admin-key", net.adminKeyFile, "--slug", C];
      expect((await net.relink(["admin", "quota", ...admin, "--lookup", "5"])).code).toBe(0);
      const node = await collectorNode();
      const error = await node
        .match(
          [
            {
              row: 2,
              ref: "q",
              subjects: [`cn-id:${s.debtors[0]!.id_number}`, `phone:+86${s.debtors[0]!.subject_phone}`],
            },
          ],
          "debt_collection",
          "quota-case",
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      // Two tags fit in a quota of 5 only if the day's usage is below 3: it is far above after the matches.
      expect(wireError(error)?.code).toBe("QUOTA_EXCEEDED");
      expect(wireError(error)?.retryAfterSeconds).toBeGreaterThan(0);
      expect((await net.relink(["admin", "quota", ...admin, "--lookup", "100000"])).code).toBe(0);
      await expect(
        node.match(
          [{ row: 2, ref: "q", subjects: [`cn-id:${s.debtors[0]!.id_number}`] }],
          "debt_collection",
          "quota-case",
        ),
      ).resolves.toBeTruthy();
    });

    it("honeytokens, alerts and opt-outs through the CLI (issue 11): a fishing lookup is caught, an opt-out honoured", async () => {
      const admin = ["--hub", net.hubUrl, "--admin-key", net.adminKeyFile];
      const N = "relink-network";
      await addMember(net, {
        slug: N,
        name: "Relink network (honeytokens)",
        kind: "other",
        capabilities: ["lender"],
      });
      await new Promise((r) => setTimeout(r, 2500)); // key holders refresh the member directory (TTL 2 s)
      // A synthetic identity, published by the network's own member and planted as a honeytoken.
      const [ghost] = makePopulation(9191, 1);
      writeCsvFile(file("honeytoken.csv"), contactBook(9192, [ghost!], { coverage: 1, asOf: today }));
      const planted = await net.relink(
        [
          "admin",
          "plant-honeytokens",
          file("honeytoken.csv"),
          ...admin,
          "--note",
          "e2e synthetic identity 1",
        ],
        N,
      );
      expect(planted.code, planted.stderr).toBe(0);
      // One tag per identifier of the identity (resident ID, name + date of birth, …).
      expect(JSON.parse(planted.stdout).honeytokens).toBeGreaterThanOrEqual(2);
      // The collector goes fishing for it: a self-declared consent, then a match.
      const bait = {
        debtor_ref: "FISH-1",
        id_number: ghost!.idNumber,
        name: ghost!.name,
        dob: ghost!.dob,
        subject_phone: ghost!.phones[0]!,
      };
      writeCsvFile(file("fish-consents.csv"), [
        {
          ...bait,
          purpose: "debt_collection",
          legal_basis: "consent",
          categories: "contact",
          granted_at: "2026-01-01",
          expires_at: "2027-12-31",
          evidence_sha256: createHash("sha256").update("fabricated").digest("hex"),
        },
      ]);
      writeCsvFile(file("fish.csv"), [bait]);
      expect((await relink(["consent", "import", file("fish-consents.csv")], C)).code).toBe(0);
      const fished = await relink(["match", file("fish.csv"), "--purpose", "debt_collection", "--json"], C);
      expect(fished.code, fished.stderr).toBe(0);
      expect((JSON.parse(fished.stdout) as MatchJson).results[0]!.status).toBe("matched");
      const alerts = await net.relink(["admin", "alerts", ...admin, "--json"]);
      expect(alerts.code, alerts.stderr).toBe(0);
      const view = JSON.parse(alerts.stdout) as {
        alerts: { member: string; kind: string; relatedLeaf: number | null }[];
        sanctions: { member: string; step: string }[];
      };
      const caught = view.alerts.find((a) => a.kind === "honeytoken.lookup");
      expect(caught).toMatchObject({ member: C });
      expect(caught!.relatedLeaf).toBeGreaterThan(0);
      expect(view.sanctions).toContainEqual(expect.objectContaining({ member: C, step: "suspend" }));
      const text = await net.relink(["admin", "alerts", "--table", ...admin]);
      expect(text.stdout).toMatch(new RegExp(`high\\s+${C}\\s+honeytoken\\.lookup`));
      expect((await net.relink(["admin", "reinstate", ...admin, "--slug", C])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 2500));

      // Opt-out: a matched debtor asks the network DPO; the next match returns nothing for them.
      const before = await match();
      const target = before.results.find((r) => r.status === "matched")!;
      const debtor = s.debtors.find((d) => d.debtor_ref === target.debtor_ref)!;
      writeCsvFile(file("opt-out.csv"), [debtor]);
      const out = await net.relink(
        ["admin", "opt-out", file("opt-out.csv"), ...admin, "--request-ref", "DPO-E2E-1"],
        N,
      );
      expect(out.code, out.stderr).toBe(0);
      const after = await match();
      expect(after.results.find((r) => r.debtor_ref === target.debtor_ref)).toMatchObject({
        status: "no_match",
        contacts: [],
      });
      expect(after.results.filter((r) => r.status === "matched").length).toBe(
        before.results.filter((r) => r.status === "matched").length - 1,
      );
      // The dialler export carries the no-contact window on every contact row.
      const csv = await relink(
        ["match", file("debtors.csv"), "--purpose", "debt_collection", "--out", file("dial.csv")],
        C,
      );
      expect(csv.code, csv.stderr).toBe(0);
      const lines = readFileSync(file("dial.csv"), "utf8").trim().split("\n");
      expect(lines[0]).toContain("no_contact_window");
      expect(lines.slice(1).filter((l) => l.includes("22:00-08:00 UTC+08:00")).length).toBeGreaterThan(0);
    });

    it("a replayed signed request is refused", async () => {
      const home = JSON.parse(readFileSync(join(net.homeDir(C), "member.json"), "utf8"));
      let captured: { url: string; init: RequestInit } | undefined;
      const recording: typeof fetch = async (input, init) => {
        captured = { url: String(input), init: init! };
        return fetch(input, init);
      };
      const signed = signedFetch(ed25519Signer(fromHex(home.signingSecretKey)), {
        fetch: recording,
        audience: hubAudienceOf(net.hubUrl),
      });
      const first = await signed(`${net.hubUrl}/trpc/network.whoami`, { method: "GET" });
      expect(first.status).toBe(200);
      expect(new Headers(captured!.init.headers).get(SIGNATURE_HEADERS.nonce)).toBeTruthy();
      const replay = await fetch(captured!.url, captured!.init);
      expect(replay.status).toBe(401);
      expect(
        ((await replay.json()) as { error: { data: { relink: { code: string } } } }).error.data.relink.code,
      ).toBe("REPLAYED_REQUEST");
      // A tampered copy (same headers, another path) fails on the signature.
      const forgedPrivate = await fetch(`${net.hubUrl}/trpc/network.whoami?x=1`, captured!.init);
      expect(
        ((await forgedPrivate.json()) as { error: { data: { relink: { code: string } } } }).error.data.relink
          .code,
      ).toBe("BAD_SIGNATURE");
    });

    it("a key holder killed mid-batch: the batch completes with the remaining holders", async () => {
      const node = await collectorNode();
      const ids = Array.from({ length: 600 }, (_, i) => `phone:+86139${String(i).padStart(8, "0")}`);
      const before = await node.tags(ids.slice(0, 50));
      let killed = false;
      const progressing = await MemberNode.connect({
        hubUrl: net.hubUrl,
        secrets: collectorSecrets(),
        batchSize: 100,
        onProgress: (stage, done) => {
          // After the first of six chunks, holder 1 dies; the remaining chunks must still complete.
          if (stage === "tags" && done > 0 && !killed) {
            killed = true;
            void net.holders[0]!.stop("SIGKILL");
          }
        },
      });
      const all = await progressing.tags(ids);
      expect(killed).toBe(true);
      expect(all.size).toBe(600);
      // Any t of the holders give the same tags: the ones computed before the kill are unchanged.
      for (const [id, t] of before) expect(all.get(id)?.tag).toEqual(t.tag);
    });

    it("the hub's tables, files and logs contain none of the plaintext identifiers or contact values", async () => {
      await net.stop();
      const needles = new Set<string>();
      const people = new Map(s.people.map((p) => [p.idNumber, p]));
      const rows = [...s.books.bank, ...s.books.consumer, ...s.books.auto];
      for (const r of rows) {
        needles.add(r.id_number);
        needles.add(r.name);
        needles.add(
          r.value.replace(/\D/g, "").length >= 11 && r.kind === "phone"
            ? r.value.replace(/\D/g, "").slice(-11)
            : r.value,
        );
      }
      for (const d of s.debtors) {
        needles.add(d.id_number);
        needles.add(d.name);
        needles.add(d.subject_phone);
        const p = people.get(d.id_number)!;
        for (const e of p.emails) needles.add(e);
      }
      const hubLog = net.hub.output() + net.holders.map((h) => h.output()).join("\n");
      const { tables, text: dump } = await dumpHubDatabase({
        hex: true,
        backend,
        dir,
        ...(serverDb ? { serverDbUrl: serverDb.url } : {}),
      });
      expect(tables).toBeGreaterThan(8);
      // Positive controls: what the hub may hold is found, so the dump and the search work.
      expect(dump).toContain(MEMBERS.collector.name);
      expect(dump).toContain(MEMBERS.bank.slug);
      let files = "";
      if (backend === "pglite") {
        const walk = (d: string): void => {
          for (const f of readdirSync(d)) {
            const p = join(d, f);
            if (statSync(p).isDirectory()) walk(p);
            else files += readFileSync(p).toString("utf8");
          }
        };
        walk(join(dir, "hub"));
        expect(files).toContain(MEMBERS.collector.name);
      }
      const leaks = [...needles].filter(
        (n) => n.length >= 5 && (dump.includes(n) || hubLog.includes(n) || files.includes(n)),
      );
      expect(leaks).toEqual([]);
      expect(needles.size).toBeGreaterThan(200);
    });
  });
}
