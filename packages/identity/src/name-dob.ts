/**
 * Name + date of birth, the identifier of last resort when no ID number, phone or e-mail is known.
 *
 * Name normalisation, in order:
 *  1. drop invisible format characters, Unicode NFKC (folds full-width Latin "ＺＨＡＮＧ" to "ZHANG",
 *     the ideographic space to a space, CJK compatibility ideographs to unified ones);
 *  2. middle dots of transliterated names (阿卜杜拉·艾力) written as "・", "•", "‧", "∙", "⋅" or "⸱", or as
 *     "." / "。" between two Chinese characters, become U+00B7 "·", with no whitespace around it;
 *  3. whitespace runs collapse to one space, leading/trailing whitespace goes, and whitespace between two
 *     Chinese characters (Unicode script Han) is removed: "张 三" → "张三";
 *  4. lower-case (affects cased scripts only: "Zhang San" → "zhang san").
 * Diacritics are kept ("josé" ≠ "jose"), and word order is not changed ("san zhang" ≠ "zhang san").
 * Accepted characters afterwards: letters, combining marks, space, "·", apostrophe (’ and ʼ become '),
 * hyphen, period. Digits, "|" (the canonical separator) and other symbols are rejected; at most 100
 * characters.
 *
 * Dates: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD (month and day may have one digit), YYYYMMDD, YYYY年M月D日;
 * full-width digits and whitespace accepted. Must be a real date, not after today (UTC+08:00), not before
 * 1900-01-01.
 *
 * Canonical form: `name-dob:` + name + "|" + YYYY-MM-DD, e.g. `name-dob:张三|1990-01-02`.
 */
import { checkBirthDate } from "./date.ts";
import { fail, ok, type ParseResult } from "./result.ts";
import { CONTROL, foldCase, nfkc, WHITESPACE } from "./text.ts";

/** A validated name + date of birth. */
export interface NameDob {
  kind: "name-dob";
  canonical: `name-dob:${string}`;
  name: string;
  /** YYYY-MM-DD */
  dateOfBirth: string;
}

export interface NameDobOptions {
  /** The current instant; dates of birth after today (UTC+08:00) are rejected. */
  now: Date;
  /** Field (column) names reported in errors; default "name" and "dob". */
  nameField?: string;
  dobField?: string;
}

export const MAX_NAME_LENGTH = 100;

const MIDDLE_DOTS = /[\u2022\u2027\u2219\u22c5\u2e31\u30fb]/gu;
const HAN_DOT_HAN = /(?<=\p{Script=Han})\s*[.\u3002]\s*(?=\p{Script=Han})/gu;
const HAN_SPACE_HAN = /(?<=\p{Script=Han}) (?=\p{Script=Han})/gu;
const NAME_CHARS = /^[\p{L}\p{M} ·'.-]+$/u;

/** Normalises a name; returns the canonical name or an error reason. */
function normaliseName(
  input: string,
): { ok: true; name: string } | { ok: false; reason: "empty" | "invalid-character" | "name-too-long" } {
  let s = nfkc(input)
    .replace(MIDDLE_DOTS, "·")
    .replace(HAN_DOT_HAN, "·")
    .replace(/[\u2018\u2019\u02bc]/gu, "'")
    .replace(/[\u2010-\u2015\u2212]/gu, "-");
  s = s.replace(WHITESPACE, " ").trim().replace(/ ?· ?/gu, "·").replace(HAN_SPACE_HAN, "");
  s = foldCase(s);
  if (s === "") return { ok: false, reason: "empty" };
  if (CONTROL.test(s) || !NAME_CHARS.test(s)) return { ok: false, reason: "invalid-character" };
  if ([...s].length > MAX_NAME_LENGTH) return { ok: false, reason: "name-too-long" };
  return { ok: true, name: s };
}

const DATE_FORMATS = [
  /^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$/u,
  /^(\d{4})()(\d{2})(\d{2})$/u,
  /^(\d{4})(年)(\d{1,2})月(\d{1,2})日$/u,
];

export function parseNameDob(
  name: string,
  dateOfBirth: string,
  options: NameDobOptions,
): ParseResult<NameDob> {
  const nameField = options.nameField ?? "name";
  const dobField = options.dobField ?? "dob";

  const n = normaliseName(name);
  if (!n.ok) {
    const message = {
      empty: "name is empty",
      "invalid-character": "name contains digits, symbols or control characters",
      "name-too-long": `name is longer than ${MAX_NAME_LENGTH} characters`,
    }[n.reason];
    return fail("name-dob", nameField, n.reason, message);
  }

  const d = nfkc(dateOfBirth)
    .replace(/[\u2010-\u2015\u2212]/gu, "-")
    .replace(WHITESPACE, "");
  if (d === "") return fail("name-dob", dobField, "empty", "date of birth is empty");
  const m = DATE_FORMATS.map((re) => re.exec(d)).find((x) => x !== null);
  if (!m) {
    return fail(
      "name-dob",
      dobField,
      "date-format",
      "date of birth must be YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY年M月D日",
    );
  }
  const birth = checkBirthDate(Number(m[1]), Number(m[3]), Number(m[4]), options.now);
  if (!birth.ok) return fail("name-dob", dobField, birth.reason, `date of birth: ${birth.message}`);

  return ok({
    kind: "name-dob",
    canonical: `name-dob:${n.name}|${birth.date}`,
    name: n.name,
    dateOfBirth: birth.date,
  });
}
