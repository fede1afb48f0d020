/**
 * The exposure part of the demo story: lenders' loan books (synthetic, deterministic), a risk team's
 * applicants and portfolio with their consents, and the plaintext oracle the end-to-end test compares with
 * (docs/protocol/exposure-he.md §2: features per subject, summed over the other lenders, suppressed below k).
 */
import { fakerZH_CN } from "@faker-js/faker";
import { EXPOSURE_CAPS, EXPOSURE_FEATURES, type ExposureFeature } from "@relink/protocol";
import type { MemberSpec } from "./network.ts";
import { MEMBERS } from "./scenario.ts";
import type { Person } from "./synthetic.ts";

export const LENDERS = {
  bank: MEMBERS.bank,
  consumer: MEMBERS.consumer,
  auto: MEMBERS.auto,
  micro: {
    slug: "rongda-micro",
    name: "融达小额贷款（演示）",
    kind: "consumer_finance",
    capabilities: ["lender"],
  },
  leasing: { slug: "huitong-leasing", name: "汇通融资租赁（演示）", kind: "other", capabilities: ["lender"] },
} as const satisfies Record<string, MemberSpec>;

/** Two more lenders join the skip-trace members (scenario.ts MEMBERS), so a querier has four others. */
export const EXTRA_LENDERS = [LENDERS.micro, LENDERS.leasing] as const;

export interface LoanCsvRow {
  id_number: string;
  loan_id: string;
  status: "active" | "closed";
  outstanding: string;
  days_past_due: string;
  opened_on: string;
}

const DAY_MS = 86_400_000;
const minusDays = (asOf: string, d: number) =>
  new Date(Date.parse(`${asOf}T00:00:00Z`) - d * DAY_MS).toISOString().slice(0, 10);

/** A lender's loan book over a share of the population: 1–3 loans per customer, some closed, some late. */
export function loanBook(
  seed: number,
  people: readonly Person[],
  opts: { coverage: number; asOf: string; prefix: string },
): LoanCsvRow[] {
  const f = fakerZH_CN;
  f.seed(seed);
  const rows: LoanCsvRow[] = [];
  let n = 0;
  for (const p of people) {
    if (!f.datatype.boolean({ probability: opts.coverage })) continue;
    const loans = f.number.int({ min: 1, max: 3 });
    for (let i = 0; i < loans; i++) {
      const active = f.datatype.boolean({ probability: 0.75 });
      const late = f.helpers.weightedArrayElement([
        { weight: 70, value: 0 },
        { weight: 12, value: f.number.int({ min: 1, max: 29 }) },
        { weight: 8, value: f.number.int({ min: 30, max: 59 }) },
        { weight: 5, value: f.number.int({ min: 60, max: 89 }) },
        { weight: 5, value: f.number.int({ min: 90, max: 400 }) },
      ]);
      rows.push({
        id_number: p.idNumber,
        loan_id: `${opts.prefix}-${String(++n).padStart(6, "0")}`,
        status: active ? "active" : "closed",
        outstanding: String(active ? f.number.int({ min: 1_000, max: 800_000 }) : 0),
        days_past_due: String(active ? late : 0),
        opened_on: minusDays(opts.asOf, f.number.int({ min: 0, max: 1_000 })),
      });
    }
  }
  return rows;
}

export type Features = Record<ExposureFeature, number>;

/** One lender's capped features for one subject, as of a day (the lender node computes the same). */
export function lenderFeatures(loans: readonly LoanCsvRow[], asOf: string): Features {
  const f = Object.fromEntries(EXPOSURE_FEATURES.map((k) => [k, 0])) as Features;
  const age = (d: string) => (Date.parse(`${asOf}T00:00:00Z`) - Date.parse(`${d}T00:00:00Z`)) / DAY_MS;
  for (const l of loans) {
    const opened = age(l.opened_on);
    if (opened >= 0 && opened < 30) f.opened_30d++;
    if (opened >= 0 && opened < 90) f.opened_90d++;
    if (l.status !== "active") continue;
    f.active_lenders = 1;
    f.outstanding += Number(l.outstanding);
    const dpd = Number(l.days_past_due);
    const bucket: ExposureFeature =
      dpd === 0
        ? "dpd_current"
        : dpd < 30
          ? "dpd_1_29"
          : dpd < 60
            ? "dpd_30_59"
            : dpd < 90
              ? "dpd_60_89"
              : "dpd_90_plus";
    f[bucket]++;
  }
  for (const k of EXPOSURE_FEATURES) f[k] = Math.min(f[k], EXPOSURE_CAPS[k]);
  return f;
}

/**
 * The oracle for subjects mode: per id number, the sum of the other lenders' features, or "suppressed" when
 * fewer than k other lenders hold the subject.
 */
export function exposureOracle(
  books: Readonly<Record<string, readonly LoanCsvRow[]>>,
  querier: string,
  ids: readonly string[],
  opts: { k: number; asOf: string },
): Map<string, Features | "suppressed"> {
  const out = new Map<string, Features | "suppressed">();
  for (const id of ids) {
    const holders = Object.entries(books).filter(
      ([slug, rows]) => slug !== querier && rows.some((r) => r.id_number === id),
    );
    if (holders.length < opts.k) {
      out.set(id, "suppressed");
      continue;
    }
    const total = Object.fromEntries(EXPOSURE_FEATURES.map((k) => [k, 0])) as Features;
    for (const [, rows] of holders) {
      const f = lenderFeatures(
        rows.filter((r) => r.id_number === id),
        opts.asOf,
      );
      for (const k of EXPOSURE_FEATURES) total[k] += f[k];
    }
    out.set(id, total);
  }
  return out;
}

export interface ExposureScenario {
  /** Loan books by lender slug. */
  books: Record<string, LoanCsvRow[]>;
  querier: string;
  applicants: { applicant_ref: string; id_number: string }[];
  portfolio: { id_number: string }[];
  /** Consent rows (consent import CSV) for every applicant and portfolio subject. */
  consents: Record<string, string>[];
}

export function buildExposureScenario(
  people: readonly Person[],
  opts: { seed?: number; asOf: string; applicants?: number; portfolio?: number },
): ExposureScenario {
  const seed = opts.seed ?? 3030;
  const books: Record<string, LoanCsvRow[]> = {};
  Object.values(LENDERS).forEach((l, i) => {
    books[l.slug] = loanBook(seed + i, people, {
      coverage: 0.6,
      asOf: opts.asOf,
      prefix: l.slug.slice(0, 3).toUpperCase(),
    });
  });
  const f = fakerZH_CN;
  f.seed(seed + 99);
  const chosen = f.helpers.arrayElements(people, (opts.applicants ?? 30) + (opts.portfolio ?? 100));
  const applicants = chosen.slice(0, opts.applicants ?? 30).map((p, i) => ({
    applicant_ref: `AP-${String(i + 1).padStart(4, "0")}`,
    id_number: p.idNumber,
  }));
  const portfolio = chosen.slice(opts.applicants ?? 30).map((p) => ({ id_number: p.idNumber }));
  const consents = [...applicants.map((a) => a.id_number), ...portfolio.map((p) => p.id_number)].map(
    (id, i) => ({
      debtor_ref: `CR-${String(i + 1).padStart(5, "0")}`,
      id_number: id,
      purpose: "credit_assessment",
      legal_basis: "consent",
      categories: "credit_exposure",
      granted_at: "2026-10-01",
      expires_at: "2027-10-01",
      evidence_sha256: f.string.hexadecimal({ length: 64, casing: "lower", prefix: "" }),
    }),
  );
  return { books, querier: LENDERS.bank.slug, applicants, portfolio, consents };
}
