/**
 * Realistic synthetic Chinese population and member books for the demo network and end-to-end tests.
 * Deterministic for a seed. Resident IDs are valid (GB 11643-1999 check character), mobiles are valid
 * CN mobile ranges, addresses and employers come from faker's zh_CN locale.
 */
import { type Faker, fakerZH_CN } from "@faker-js/faker";
import { cnIdCheckCharacter } from "@relink/identity";

/** Real county-level area codes (first six digits of a resident ID). */
const AREA_CODES = [
  "110105",
  "110108",
  "310115",
  "310104",
  "440305",
  "440106",
  "320102",
  "330106",
  "510107",
  "420106",
  "610113",
  "500103",
  "370202",
  "350203",
  "430104",
  "410105",
  "210102",
  "120101",
  "340104",
  "530102",
] as const;
const MOBILE_PREFIXES = [
  "130",
  "131",
  "132",
  "133",
  "135",
  "136",
  "137",
  "138",
  "139",
  "150",
  "151",
  "152",
  "155",
  "156",
  "158",
  "159",
  "180",
  "181",
  "186",
  "187",
  "188",
  "189",
] as const;

export interface Person {
  name: string;
  dob: string;
  idNumber: string;
  /** The subject's phones over time, oldest first. */
  phones: string[];
  addresses: string[];
  emails: string[];
  employers: string[];
}

export interface ContactCsvRow {
  id_number: string;
  name: string;
  dob: string;
  kind: "phone" | "address" | "email" | "employer";
  value: string;
  first_seen: string;
  last_seen: string;
  source_type: string;
  confidence: string;
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

function day(f: Faker, from: string, to: string): string {
  return f.date
    .between({ from: `${from}T00:00:00Z`, to: `${to}T00:00:00Z` })
    .toISOString()
    .slice(0, 10);
}

export function makePerson(f: Faker): Person {
  const dob = day(f, "1958-01-01", "2003-12-31");
  const area = f.helpers.arrayElement(AREA_CODES);
  const first17 = `${area}${dob.replaceAll("-", "")}${pad(f.number.int({ min: 1, max: 999 }), 3)}`;
  const phone = () =>
    `${f.helpers.arrayElement(MOBILE_PREFIXES)}${pad(f.number.int({ min: 0, max: 99_999_999 }), 8)}`;
  const address = () =>
    `${f.location.state()}${f.location.city()}${f.location.street()}${f.number.int({ min: 1, max: 399 })}号`;
  return {
    name: `${f.person.lastName()}${f.person.firstName()}`,
    dob,
    idNumber: `${first17}${cnIdCheckCharacter(first17)}`,
    phones: f.helpers.multiple(phone, { count: { min: 1, max: 3 } }),
    addresses: f.helpers.multiple(address, { count: { min: 1, max: 2 } }),
    emails: [
      `${f.string.alphanumeric({ length: { min: 5, max: 10 }, casing: "lower" })}@${f.helpers.arrayElement(["qq.com", "163.com", "126.com", "sina.com"])}`,
    ],
    employers: [f.company.name()],
  };
}

export function makePopulation(seed: number, size: number): Person[] {
  const f = fakerZH_CN;
  f.seed(seed);
  return Array.from({ length: size }, () => makePerson(f));
}

/**
 * A publisher's contact book: for each person it knows, some of their contact points with sighting dates.
 * `writing` varies how the member spells phone numbers, as real systems do.
 */
export function contactBook(
  seed: number,
  people: readonly Person[],
  opts: { coverage: number; asOf: string },
): ContactCsvRow[] {
  const f = fakerZH_CN;
  f.seed(seed);
  const rows: ContactCsvRow[] = [];
  for (const p of people) {
    if (!f.datatype.boolean({ probability: opts.coverage })) continue;
    const values: [ContactCsvRow["kind"], string][] = [
      ...p.phones.map(
        (v) =>
          [
            "phone",
            f.helpers.arrayElement([v, `+86 ${v.slice(0, 3)} ${v.slice(3, 7)} ${v.slice(7)}`, `0086-${v}`]),
          ] as [ContactCsvRow["kind"], string],
      ),
      ...p.addresses.map((v) => ["address", v] as [ContactCsvRow["kind"], string]),
      ...p.emails.map((v) => ["email", v] as [ContactCsvRow["kind"], string]),
      ...p.employers.map((v) => ["employer", v] as [ContactCsvRow["kind"], string]),
    ];
    for (const [kind, value] of values) {
      if (!f.datatype.boolean({ probability: 0.7 })) continue;
      const first = day(f, "2019-01-01", "2024-06-30");
      const last = day(f, first, opts.asOf);
      rows.push({
        id_number: p.idNumber,
        name: p.name,
        dob: p.dob,
        kind,
        value,
        first_seen: first,
        last_seen: last,
        source_type: f.helpers.arrayElement(["application", "transaction", "collection-contact"]),
        confidence: String(f.number.int({ min: 40, max: 95 })),
      });
    }
  }
  return rows;
}
