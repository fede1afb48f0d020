import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROVINCE_CODES, parseCnId, parseEmail, parseNameDob, parsePhone } from "../src/index.ts";
import { referenceCheckCharacter } from "./iso7064.ts";

const NOW = new Date("2026-11-26T04:00:00Z");
const opts = { now: NOW };

const digits = (n: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: n, maxLength: n });

/** A valid 18-character ID: real province, any county digits, birth date 1900-01-01..today, reference check. */
const validId = fc
  .record({
    province: fc.constantFrom(...Object.keys(PROVINCE_CODES)),
    county: digits(4),
    birth: fc.date({
      min: new Date("1900-01-01T00:00:00Z"),
      max: new Date("2026-11-26T00:00:00Z"),
      noInvalidDate: true,
    }),
    sequence: digits(3),
  })
  .map(({ province, county, birth, sequence }) => {
    const first17 = province + county + birth.toISOString().slice(0, 10).replaceAll("-", "") + sequence;
    return first17 + referenceCheckCharacter(first17);
  });

/** Re-parse the payload of a canonical string with the same parser. */
function payload(canonical: string): string {
  return canonical.slice(canonical.indexOf(":") + 1);
}

const FULL_WIDTH = (s: string) =>
  s.replace(/[0-9A-Za-z+\-.@]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

describe("resident ID properties", () => {
  it("every valid generated ID passes, in any accepted spelling", () => {
    fc.assert(
      fc.property(validId, fc.boolean(), fc.boolean(), (id, lower, wide) => {
        let spelled = lower ? id.toLowerCase() : id;
        if (wide) spelled = FULL_WIDTH(spelled);
        const r = parseCnId(spelled, opts);
        expect(r.ok && r.value.canonical).toBe(`cn-id:${id}`);
      }),
    );
  });

  it("any single-character change fails the check digit", () => {
    fc.assert(
      fc.property(validId, fc.nat(17), fc.nat(10), (id, pos, k) => {
        const alphabet = pos === 17 ? [..."0123456789X"] : [..."0123456789"];
        const others = alphabet.filter((c) => c !== id[pos]);
        const changed = id.slice(0, pos) + others[k % others.length] + id.slice(pos + 1);
        const r = parseCnId(changed, opts);
        expect(r.ok ? "accepted" : r.error.reason).toBe("check-digit");
      }),
    );
  });

  it("normalisation is idempotent and never throws", () => {
    fc.assert(
      fc.property(fc.oneof(validId, digits(15), fc.string(), fc.string({ unit: "binary" })), (s) => {
        const r = parseCnId(s, opts);
        if (!r.ok) return;
        const again = parseCnId(payload(r.value.canonical), opts);
        expect(again.ok && again.value.canonical).toBe(r.value.canonical);
        expect(again.ok && again.value.birthDate).toBe(r.value.birthDate);
      }),
    );
  });
});

describe("phone properties", () => {
  const cnMobile = fc
    .tuple(fc.constantFrom(..."3456789"), digits(9))
    .map(([second, rest]) => `1${second}${rest}`);
  const spelled = fc
    .record({
      number: cnMobile,
      prefix: fc.constantFrom("", "+86", "+86 ", "+86-", "0086", "0086 ", "86", "86 ", "(+86) "),
      sep: fc.constantFrom("", " ", "-", "."),
      wide: fc.boolean(),
    })
    .map(({ number, prefix, sep, wide }) => {
      const s = prefix + [number.slice(0, 3), number.slice(3, 7), number.slice(7)].join(sep);
      return { number, input: wide ? FULL_WIDTH(s) : s };
    });

  it("every spelling of a CN mobile gives +86 and the same number, when the metadata knows the range", () => {
    fc.assert(
      fc.property(spelled, ({ number, input }) => {
        const bare = parsePhone(number);
        const r = parsePhone(input);
        if (bare.ok) expect(r.ok && r.value.canonical).toBe(`phone:+86${number}`);
        else expect(r.ok).toBe(false);
      }),
    );
  });

  it("normalisation is idempotent and never throws", () => {
    const phoneish = fc.string({ unit: fc.constantFrom(..."+0123456789 -().８６"), maxLength: 20 });
    fc.assert(
      fc.property(
        fc.oneof(
          spelled.map((x) => x.input),
          phoneish,
          fc.string(),
          fc.string({ unit: "binary" }),
        ),
        (s) => {
          const r = parsePhone(s);
          if (r.ok) expect(parsePhone(payload(r.value.canonical))).toMatchObject({ value: r.value });
        },
      ),
    );
  });
});

describe("e-mail properties", () => {
  it("normalisation is idempotent, case-insensitive and never throws", () => {
    const cased = fc
      .tuple(fc.emailAddress(), fc.array(fc.boolean(), { minLength: 1 }))
      .map(([e, flips]) => [...e].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join(""));
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), cased, fc.string(), fc.string({ unit: "binary" })), (s) => {
        const r = parseEmail(s);
        if (r.ok) {
          expect(parseEmail(payload(r.value.canonical))).toMatchObject({ value: r.value });
          expect(parseEmail(s.toUpperCase()).ok && parseEmail(s.toUpperCase())).toMatchObject({
            value: r.value,
          });
        }
      }),
    );
  });

  it("accepts every address fast-check generates", () => {
    fc.assert(
      fc.property(fc.emailAddress(), (e) => {
        expect(parseEmail(e).ok).toBe(true);
      }),
    );
  });
});

describe("name + date of birth properties", () => {
  const nameChars = fc.constantFrom(..."张三李四欧阳娜 ·・•.　ZhangSanＺｈａｎｇ'’-éÉ\u200b\u3000");
  const name = fc.oneof(
    fc.string({ unit: nameChars, maxLength: 12 }),
    fc.string({ unit: "grapheme", maxLength: 12 }),
  );
  const dob = fc.oneof(
    fc
      .date({
        min: new Date("1890-01-01T00:00:00Z"),
        max: new Date("2030-12-31T00:00:00Z"),
        noInvalidDate: true,
      })
      .chain((d) => {
        const [y, m, day] = d.toISOString().slice(0, 10).split("-") as [string, string, string];
        return fc.constantFrom(
          `${y}-${m}-${day}`,
          `${y}/${m}/${day}`,
          `${y}${m}${day}`,
          `${y}年${+m}月${+day}日`,
        );
      }),
    fc.string(),
  );

  it("normalisation is idempotent and never throws", () => {
    fc.assert(
      fc.property(name, dob, (n, d) => {
        const r = parseNameDob(n, d, opts);
        if (r.ok) {
          const p = payload(r.value.canonical);
          const bar = p.lastIndexOf("|");
          expect(parseNameDob(p.slice(0, bar), p.slice(bar + 1), opts)).toMatchObject({ value: r.value });
        }
      }),
      { numRuns: 500 },
    );
  });
});
