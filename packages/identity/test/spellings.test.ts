/**
 * Real-world spellings, valid and invalid. Each row: the input as members type it, and either the expected
 * canonical string or the expected reason code.
 */
import { describe, expect, it } from "vitest";
import {
  type ParseResult,
  parseCnId,
  parseEmail,
  parseNameDob,
  parsePhone,
  type ReasonCode,
} from "../src/index.ts";
import { iso7064Valid, referenceConvertLegacy } from "./iso7064.ts";

/** 2026-11-26 12:00 in China (UTC+08:00). */
const NOW = new Date("2026-11-26T04:00:00Z");

type Row = [input: string, expected: string | ReasonCode, note: string];

function outcome(r: ParseResult<{ canonical: string }>): string {
  return r.ok ? r.value.canonical : r.error.reason;
}

const CN_IDS: Row[] = [
  ["11010519491231002X", "cn-id:11010519491231002X", "GB 11643-1999 example number"],
  ["11010519491231002x", "cn-id:11010519491231002X", "lower-case x"],
  ["110105 19491231 002x", "cn-id:11010519491231002X", "spaces between groups"],
  ["１１０１０５１９４９１２３１００２Ｘ", "cn-id:11010519491231002X", "full-width digits and X"],
  ["\t440304199001011233\n", "cn-id:440304199001011233", "tab and newline around"],
  ["440304199001011233", "cn-id:440304199001011233", "Shenzhen"],
  ["310115198506152829", "cn-id:310115198506152829", "Shanghai"],
  ["51010720000229007X", "cn-id:51010720000229007X", "born on a leap day"],
  ["440304202611260012", "cn-id:440304202611260012", "born today (UTC+08:00)"],
  ["810000199001010019", "cn-id:810000199001010019", "Hong Kong residence permit"],
  ["830000199001010012", "cn-id:830000199001010012", "Taiwan residence permit"],
  ["11010519000101001X", "cn-id:11010519000101001X", "born 1900-01-01, earliest accepted"],
  ["110105491231002", "cn-id:11010519491231002X", "legacy 15-digit"],
  ["440304 900101 123", "cn-id:440304199001011233", "legacy 15-digit with spaces"],
  ["440304199001011234", "check-digit", "wrong check digit"],
  ["11010519491231002Y", "invalid-character", "letter other than X"],
  ["110105200002300015", "date-invalid", "Feb 30"],
  ["320102800230123", "date-invalid", "legacy Feb 30"],
  ["130102790229101", "date-invalid", "legacy 1979-02-29, not a leap year"],
  ["110105203010100017", "date-future", "born 2030"],
  ["440304202611270018", "date-future", "born tomorrow (UTC+08:00)"],
  ["110105189912310015", "date-too-early", "born 1899"],
  ["990105199001010014", "region", "region 99"],
  ["91010519900101001X", "region", "region 91"],
  ["11010519491231002", "length", "17 digits"],
  ["1101051949123100", "length", "16 digits"],
  ["11010549123100X", "length", "15 characters ending in X"],
  ["110105-19491231-002X", "invalid-character", "hyphens are not accepted"],
  ["", "empty", "empty"],
  ["   ", "empty", "whitespace only"],
];

const PHONES: Row[] = [
  ["13800138000", "phone:+8613800138000", "bare mobile"],
  ["138 0013 8000", "phone:+8613800138000", "spaces 3-4-4"],
  ["138-0013-8000", "phone:+8613800138000", "hyphens"],
  ["138.0013.8000", "phone:+8613800138000", "dots"],
  ["+86-138-0013-8000", "phone:+8613800138000", "+86 with hyphens"],
  ["+86 138 0013 8000", "phone:+8613800138000", "+86 with spaces"],
  ["(+86) 138 0013 8000", "phone:+8613800138000", "country code in parentheses"],
  ["+86 (0)138 0013 8000", "phone:+8613800138000", "(0) trunk prefix after +86"],
  ["0086 138 0013 8000", "phone:+8613800138000", "0086 international prefix"],
  ["008613800138000", "phone:+8613800138000", "0086 unspaced"],
  ["86 138 0013 8000", "phone:+8613800138000", "86 without + before a mobile"],
  ["8613800138000", "phone:+8613800138000", "86 unspaced before a mobile"],
  ["１３８００１３８０００", "phone:+8613800138000", "full-width digits"],
  [
    "＋８６　１３８－００１３－８０００",
    "phone:+8613800138000",
    "full-width +, hyphen and ideographic space",
  ],
  ["138–0013–8000", "phone:+8613800138000", "en dashes"],
  ["199 1234 5678", "phone:+8619912345678", "199 mobile range"],
  ["(010) 1234 5678", "phone:+861012345678", "Beijing landline, area code in parentheses"],
  ["010-12345678", "phone:+861012345678", "Beijing landline with hyphen"],
  ["021 6123 4567", "phone:+862161234567", "Shanghai landline"],
  ["+86 755 8888 8888", "phone:+8675588888888", "Shenzhen landline with +86"],
  ["1380013800", "invalid-number", "10-digit mobile"],
  ["138001380001", "invalid-number", "12-digit mobile"],
  ["12345", "too-short", "too short"],
  ["+86 12", "too-short", "+86 and two digits"],
  ["862112345678", "ambiguous-country-code", "86 without + before a landline"],
  ["86 021 6123 4567", "ambiguous-country-code", "86 without + before a landline with trunk 0"],
  ["+44 20 7946 0000", "phone:+442079460000", "UK landline"],
  ["+44 7400 123456", "phone:+447400123456", "UK mobile"],
  ["+1 (650) 253-0000", "phone:+16502530000", "US"],
  ["+852 9123 4567", "phone:+85291234567", "Hong Kong mobile"],
  ["00852 9123 4567", "phone:+85291234567", "Hong Kong via 00"],
  ["+886 912 345 678", "phone:+886912345678", "Taiwan mobile"],
  ["138 0013 8000 ext 12", "invalid-character", "extension"],
  ["Tel: 13800138000", "invalid-character", "label before the number"],
  ["++86 138 0013 8000", "invalid-character", "double plus"],
  ["138 0013 8000+", "invalid-character", "trailing plus"],
  ["+", "invalid-number", "plus only"],
  ["", "empty", "empty"],
];

const EMAILS: Row[] = [
  ["zhang.san@example.com", "email:zhang.san@example.com", "plain"],
  ["Zhang.San@Example.COM", "email:zhang.san@example.com", "upper-case"],
  ["  zhang.san@example.com \t", "email:zhang.san@example.com", "spaces around"],
  ["ｚｈａｎｇ．ｓａｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email:zhang.san@example.com", "full-width"],
  ["Zhang.San+loans@GMail.com", "email:zhang.san+loans@gmail.com", "no provider folding of dots or +tags"],
  ["张三@例子.中国", "email:张三@xn--fsqu00a.xn--fiqs8s", "IDN domain and Chinese local part"],
  ["user@例子。中国", "email:user@xn--fsqu00a.xn--fiqs8s", "IDN with ideographic full stop"],
  ["user@XN--FSQU00A.xn--fiqs8s", "email:user@xn--fsqu00a.xn--fiqs8s", "punycode input"],
  ["zhang.sanexample.com", "missing-at", "missing @"],
  ["zhang@san@example.com", "multiple-at", "two @"],
  ["zhang san@example.com", "invalid-character", "space inside"],
  ["@example.com", "local-part", "empty local part"],
  [".zhang@example.com", "local-part", "leading dot"],
  ["zhang..san@example.com", "local-part", "double dot"],
  ['"zhang san"@example.com', "invalid-character", "quoted local part with space"],
  ["zhang@localhost", "domain", "domain without a dot"],
  ["zhang@example..com", "domain", "empty label"],
  ["zhang@1.2.3.4", "domain", "IP address"],
  ["zhang@-example.com", "domain", "label starting with hyphen"],
  ["zhang@example.com/x", "domain", "path after domain"],
  ["", "empty", "empty"],
];

const NAMES: [name: string, dob: string, expected: string | ReasonCode, note: string][] = [
  ["张三", "1990-01-02", "name-dob:张三|1990-01-02", "plain"],
  ["张 三", "1990/01/02", "name-dob:张三|1990-01-02", "space between Han, slashes"],
  ["张　三", "19900102", "name-dob:张三|1990-01-02", "ideographic space, YYYYMMDD"],
  [" 张三 ", "1990年1月2日", "name-dob:张三|1990-01-02", "padding, 年月日"],
  ["欧阳 娜娜", "1990 年 01 月 02 日", "name-dob:欧阳娜娜|1990-01-02", "compound surname, spaced 年月日"],
  ["张三", "１９９０－０１－０２", "name-dob:张三|1990-01-02", "full-width date"],
  [
    "ＺＨＡＮＧ　Ｓａｎ",
    "1990-1-2",
    "name-dob:zhang san|1990-01-02",
    "full-width Latin, one-digit month/day",
  ],
  ["Zhang   San", "1990.01.02", "name-dob:zhang san|1990-01-02", "collapsed spaces, dots"],
  ["阿卜杜拉・艾力", "1985-06-15", "name-dob:阿卜杜拉·艾力|1985-06-15", "katakana middle dot"],
  ["阿卜杜拉 • 艾力", "1985-06-15", "name-dob:阿卜杜拉·艾力|1985-06-15", "bullet with spaces"],
  ["阿卜杜拉.艾力", "1985-06-15", "name-dob:阿卜杜拉·艾力|1985-06-15", "ASCII period between Han"],
  ["O’Brien", "1970-12-31", "name-dob:o'brien|1970-12-31", "curly apostrophe"],
  ["José García", "1970-12-31", "name-dob:josé garcía|1970-12-31", "diacritics kept"],
  ["张三", "2000-02-29", "name-dob:张三|2000-02-29", "leap day"],
  ["张三", "1990-02-30", "date-invalid", "Feb 30"],
  ["张三", "1990-13-01", "date-invalid", "month 13"],
  ["张三", "1900-02-29", "date-invalid", "1900 not a leap year"],
  ["张三", "02/01/1990", "date-format", "day-first"],
  ["张三", "1990-01/02", "date-format", "mixed separators"],
  ["张三", "2027-01-01", "date-future", "future"],
  ["张三", "1899-12-31", "date-too-early", "before 1900"],
  ["张三3", "1990-01-02", "invalid-character", "digit in name"],
  ["张三|李四", "1990-01-02", "invalid-character", "separator in name"],
  ["", "1990-01-02", "empty", "empty name"],
  ["张三", "", "empty", "empty date"],
];

describe("resident ID spellings", () => {
  it.each(CN_IDS)("%j → %s (%s)", (input, expected) => {
    expect(outcome(parseCnId(input, { now: NOW }))).toBe(expected);
  });

  it("every accepted ID in the table satisfies the independent MOD 11-2 reference", () => {
    const valid = CN_IDS.map(([, e]) => e).filter((e) => e.startsWith("cn-id:"));
    expect(valid.length).toBeGreaterThan(10);
    for (const c of valid) expect(iso7064Valid(c.slice("cn-id:".length))).toBe(true);
  });

  it("legacy 15-digit conversion matches GB 11643-1999 computed independently", () => {
    for (const id15 of ["110105491231002", "440304900101123", "310115851231282"]) {
      const r = parseCnId(id15, { now: NOW });
      expect(r.ok && r.value.canonical).toBe(`cn-id:${referenceConvertLegacy(id15)}`);
      expect(r.ok && r.value.convertedFromLegacy).toBe(true);
    }
    expect(referenceConvertLegacy("110105491231002")).toBe("11010519491231002X");
  });
});

describe("phone spellings", () => {
  it.each(PHONES)("%j → %s (%s)", (input, expected) => {
    expect(outcome(parsePhone(input))).toBe(expected);
  });
});

describe("e-mail spellings", () => {
  it.each(EMAILS)("%j → %s (%s)", (input, expected) => {
    expect(outcome(parseEmail(input))).toBe(expected);
  });
});

describe("name + date of birth spellings", () => {
  it.each(NAMES)("%j %j → %s (%s)", (name, dob, expected) => {
    expect(outcome(parseNameDob(name, dob, { now: NOW }))).toBe(expected);
  });
});

it("the table has at least 60 spellings", () => {
  expect(CN_IDS.length + PHONES.length + EMAILS.length + NAMES.length).toBeGreaterThanOrEqual(60);
});
