/**
 * Telephone numbers to E.164 (ITU-T E.164), using libphonenumber-js with its "max" metadata (Google
 * libphonenumber's full metadata, which distinguishes mobile from fixed-line ranges and validates CN
 * mobiles by prefix and length; the "min" metadata accepts 10-digit "mobiles" such as 138 0013 800). No
 * numbering-plan data is written by hand here.
 *
 * Accepted spellings: digits with spaces, hyphens (any Unicode dash), dots and parentheses; full-width
 * digits and punctuation (NFKC); a leading "+"; the international call prefix of the default region ("00"
 * for CN: 0086 138 0013 8000); the national trunk prefix ("0" for CN: 010 1234 5678). Letters, extensions
 * ("ext. 12") and any other character are rejected rather than guessed at.
 *
 * A country calling code written without "+" or "00" is ambiguous with a national number; it is accepted
 * only in the one spelling that is common and unambiguous in Chinese data entry: "86" followed by an 11-digit
 * CN mobile number (8613800138000). Any other such number ("862112345678") is rejected as
 * `ambiguous-country-code` instead of being silently reinterpreted.
 *
 * Numbers without a country code are read in `defaultRegion` (default CN). Every valid number is accepted,
 * whatever its line type (CN landlines included); `lineType` reports what the metadata knows, so a caller
 * that wants mobiles only can filter on it.
 *
 * Canonical form: `phone:` + E.164, e.g. `phone:+8613800138000`.
 */
import {
  type CountryCode,
  isSupportedCountry,
  type NumberType,
  type PhoneNumber,
  parsePhoneNumberFromString,
  validatePhoneNumberLength,
} from "libphonenumber-js/max";
import { fail, ok, type ParseResult } from "./result.ts";
import { nfkc } from "./text.ts";

export type { CountryCode } from "libphonenumber-js/max";

/** Line type from the libphonenumber metadata: "MOBILE", "FIXED_LINE", "FIXED_LINE_OR_MOBILE", "TOLL_FREE", … */
export type PhoneLineType = NonNullable<NumberType>;

/** A validated telephone number. */
export interface Phone {
  kind: "phone";
  canonical: `phone:${string}`;
  /** E.164 with leading "+", e.g. "+8613800138000". */
  e164: string;
  /** Country calling code without "+", e.g. "86". */
  callingCode: string;
  /** ISO 3166-1 alpha-2 region of the number, when the metadata can tell (not for +800 and the like). */
  country: CountryCode | undefined;
  /** Line type, when the metadata can tell. */
  lineType: PhoneLineType | undefined;
}

export interface PhoneOptions {
  /** Region for numbers written without a country code; default "CN". */
  defaultRegion?: CountryCode;
  /** Field (column) name reported in errors; defaults to "phone". */
  field?: string;
}

/** Separators people put between digits: whitespace, ASCII hyphen, Unicode dashes and minus, dot, parentheses. */
const SEPARATORS = /[\s\-\u2010-\u2015\u2212.()]/gu;

export function parsePhone(input: string, options: PhoneOptions = {}): ParseResult<Phone> {
  const field = options.field;
  const defaultRegion = options.defaultRegion ?? "CN";
  if (!isSupportedCountry(defaultRegion)) throw new RangeError(`unsupported default region ${defaultRegion}`);

  const s = nfkc(input).trim();
  if (s === "") return fail("phone", field, "empty", "phone number is empty");
  const compact = s.replace(SEPARATORS, "");
  if (!/^\+?\d*$/.test(compact)) {
    return fail(
      "phone",
      field,
      "invalid-character",
      'phone number may contain only digits, a leading "+", spaces, hyphens, dots and parentheses',
    );
  }
  if (!/\d/.test(compact)) return fail("phone", field, "invalid-number", "phone number has no digits");

  // "86" + 11-digit CN mobile without "+": read as +86, whatever the default region.
  if (/^861\d{10}$/.test(compact)) {
    const p = parsePhoneNumberFromString(`+${compact}`);
    if (p?.isValid() && p.getType() === "MOBILE") return ok(toPhone(p));
  }

  const parsed = parsePhoneNumberFromString(compact, { defaultCountry: defaultRegion });
  if (!parsed?.isValid()) {
    const length = validatePhoneNumberLength(compact, { defaultCountry: defaultRegion });
    if (length === "TOO_SHORT") return fail("phone", field, "too-short", "phone number is too short");
    if (length === "TOO_LONG") return fail("phone", field, "too-long", "phone number is too long");
    return fail("phone", field, "invalid-number", "not a valid phone number for its country or region");
  }

  // A country calling code typed without "+" or an international prefix: libphonenumber strips it when
  // that makes the number valid. Reject that rather than guess (the CN mobile case returned above).
  if (!compact.startsWith("+") && compact.endsWith(parsed.nationalNumber)) {
    const prefix = compact.slice(0, compact.length - parsed.nationalNumber.length);
    if (prefix.startsWith(parsed.countryCallingCode)) {
      return fail(
        "phone",
        field,
        "ambiguous-country-code",
        'number starts with a country code without "+" or "00"; write it as +CC…',
      );
    }
  }
  return ok(toPhone(parsed));
}

function toPhone(p: PhoneNumber): Phone {
  return {
    kind: "phone",
    canonical: `phone:${p.number}`,
    e164: p.number,
    callingCode: p.countryCallingCode,
    country: p.country,
    lineType: p.getType(),
  };
}
