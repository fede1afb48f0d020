/**
 * The demo's story, as data: four member institutions, their books, and the collector's debtors and
 * consents, all synthetic and deterministic. Also the plaintext oracle the end-to-end test compares with.
 */

import { fakerZH_CN } from "@faker-js/faker";
import type { MemberSpec } from "./network.ts";
import { type ContactCsvRow, contactBook, makePopulation, type Person } from "./synthetic.ts";

export const MEMBERS = {
  bank: {
    slug: "eastern-bank",
    name: "东方商业银行（演示）",
    kind: "bank",
    capabilities: ["lender", "collector", "querier"],
  },
  consumer: {
    slug: "anxin-consumer",
    name: "安信消费金融（演示）",
    kind: "consumer_finance",
    capabilities: ["lender", "collector"],
  },
  auto: {
    slug: "chiyuan-auto",
    name: "驰远汽车金融（演示）",
    kind: "auto_finance",
    capabilities: ["lender"],
  },
  collector: {
    slug: "xinda-collect",
    name: "信达催收服务（演示）",
    kind: "collection_agency",
    capabilities: ["collector"],
  },
} as const satisfies Record<string, MemberSpec>;

/**
 * The network-owned member (ADR 0045): it publishes the network's honeytokens, and its key computes the tags
 * of honeytokens and opt-outs (CLI `relink admin plant-honeytokens | opt-out --home`, portal `/abuse` and
 * `/opt-outs`). It holds no real person's data.
 */
export const NETWORK_MEMBER = {
  slug: "relink-network",
  name: "Relink network (honeytokens)",
  kind: "other",
  capabilities: ["lender"],
} as const satisfies MemberSpec;

/**
 * What the demo's key-holder operators allow each demo institution per day (they tag whole books); any other
 * member gets the holders' default of 500 (apps/keyholder usage.ts).
 */
export const DEMO_EVALUATION_CAPS: Record<string, number> = Object.fromEntries(
  ["eastern-bank", "anxin-consumer", "chiyuan-auto", "xinda-collect", "rongda-micro", "huitong-leasing"].map(
    (slug) => [slug, 50_000],
  ),
);

/**
 * The demo's exposure settings: lenders register their books and are queried within a minute, so the
 * 24-hour seasoning of registrations (issue 15.4) is off here; production networks keep the default.
 */
export const DEMO_EXPOSURE = { minHoldingHours: 0 };

export interface DebtorCsvRow {
  debtor_ref: string;
  id_number: string;
  name: string;
  dob: string;
  subject_phone: string;
}

export interface ConsentCsvRow extends DebtorCsvRow {
  purpose: string;
  legal_basis: string;
  categories: string;
  granted_at: string;
  expires_at: string;
  evidence_sha256: string;
}

export interface Scenario {
  people: Person[];
  books: { bank: ContactCsvRow[]; consumer: ContactCsvRow[]; auto: ContactCsvRow[] };
  debtors: DebtorCsvRow[];
  consents: ConsentCsvRow[];
}

export function buildScenario(opts: {
  seed?: number;
  population?: number;
  debtors?: number;
  unconsented?: number;
  asOf: string;
}): Scenario {
  const seed = opts.seed ?? 2026;
  const people = makePopulation(seed, opts.population ?? 300);
  const books = {
    bank: contactBook(seed + 1, people, { coverage: 0.45, asOf: opts.asOf }),
    consumer: contactBook(seed + 2, people, { coverage: 0.45, asOf: opts.asOf }),
    auto: contactBook(seed + 3, people, { coverage: 0.3, asOf: opts.asOf }),
  };
  const f = fakerZH_CN;
  f.seed(seed + 4);
  const chosen = f.helpers.arrayElements(people, opts.debtors ?? 80);
  const debtors = chosen.map((p, i) => ({
    debtor_ref: `XD-${String(i + 1).padStart(5, "0")}`,
    id_number: p.idNumber,
    name: p.name,
    dob: p.dob,
    subject_phone: p.phones[0]!,
  }));
  const unconsented = opts.unconsented ?? 10;
  const consents = debtors.slice(0, debtors.length - unconsented).map((d) => ({
    ...d,
    purpose: "debt_collection",
    legal_basis: "contract_performance",
    categories: "contact",
    granted_at: "2026-01-01",
    expires_at: "2027-12-31",
    evidence_sha256: f.string.hexadecimal({ length: 64, casing: "lower", prefix: "" }),
  }));
  return { people, books, debtors, consents };
}

/** Canonical contact value, as the member node normalises it (for the oracle). */
function canonicalValue(row: ContactCsvRow): string {
  if (row.kind === "phone") return `+86${row.value.replace(/\D/g, "").slice(-11)}`;
  if (row.kind === "email") return row.value.trim().toLowerCase();
  return row.value.normalize("NFKC").replace(/\s+/gu, " ").trim();
}

/**
 * The plaintext oracle: for each consented debtor, the set of "kind:value" contacts other members
 * published for that person; unconsented debtors get nothing.
 */
export function expectedMatches(s: Scenario): Map<string, Set<string>> {
  const consented = new Set(s.consents.map((c) => c.debtor_ref));
  const all = [...s.books.bank, ...s.books.consumer, ...s.books.auto];
  const out = new Map<string, Set<string>>();
  for (const d of s.debtors) {
    const set = new Set<string>();
    if (consented.has(d.debtor_ref)) {
      for (const r of all) if (r.id_number === d.id_number) set.add(`${r.kind}:${canonicalValue(r)}`);
    }
    out.set(d.debtor_ref, set);
  }
  return out;
}
