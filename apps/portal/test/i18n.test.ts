/**
 * Every string in all three languages: same keys, nothing empty, the same {placeholders}, Chinese
 * dictionaries actually in Chinese (not English copied over), and dates shown in UTC+8.
 */
import { describe, expect, it } from "vitest";
import { DICTIONARIES, formatDateTime, LOCALES, translator } from "../web/i18n.ts";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const SAME_IN_ALL = new Set(["lang.zh-Hans", "lang.zh-Hant", "lang.en", "common.none"]);

describe("portal dictionaries", () => {
  const en = DICTIONARIES.en;
  for (const locale of LOCALES) {
    it(`${locale}: same keys as en, none empty, same placeholders`, () => {
      const dict = DICTIONARIES[locale];
      expect(Object.keys(dict).sort()).toEqual(Object.keys(en).sort());
      for (const [key, text] of Object.entries(dict)) {
        expect(text.trim(), key).not.toBe("");
        expect(placeholders(text), key).toEqual(placeholders(en[key as keyof typeof en]));
      }
    });
  }
  for (const locale of ["zh-Hans", "zh-Hant"] as const) {
    it(`${locale}: every string is translated (contains Chinese or differs from en)`, () => {
      const untranslated = Object.entries(DICTIONARIES[locale]).filter(
        ([key, text]) => !SAME_IN_ALL.has(key) && !/[\u4e00-\u9fff]/.test(text),
      );
      expect(untranslated).toEqual([]);
    });
  }
  it("zh-Hant is not zh-Hans", () => {
    const same = Object.keys(en).filter(
      (k) => DICTIONARIES["zh-Hans"][k as keyof typeof en] === DICTIONARIES["zh-Hant"][k as keyof typeof en],
    );
    expect(same.length).toBeLessThan(Object.keys(en).length / 3);
  });
  it("fills placeholders and leaves unknown ones visible", () => {
    expect(translator("en")("match.summary", { matched: 3, noMatch: 1, noConsent: 2 })).toBe(
      "3 matched · 1 no match · 2 no consent",
    );
    expect(translator("zh-Hans")("dash.quota", {})).toBe("每日配额 {quota}");
  });
  it("formats dates in UTC+8 whatever the machine's zone", () => {
    // 2026-12-31T18:30Z is already 1 January 02:30 in Beijing.
    expect(formatDateTime("en", "2026-12-31T18:30:00Z")).toMatch(/01\/01\/2027.*02:30/);
    expect(formatDateTime("zh-Hans", "2026-12-31T18:30:00Z")).toContain("2027/01/01");
  });
});
