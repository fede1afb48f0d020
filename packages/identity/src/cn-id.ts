/**
 * PRC citizen identity number, GB 11643-1999 《公民身份号码》.
 *
 * Layout (18 characters): 6-digit address code (GB/T 2260 administrative division), 8-digit birth date
 * YYYYMMDD, 3-digit sequence (odd for men, even for women), 1 check character computed with ISO 7064:1983
 * MOD 11-2 over the first 17 digits; the value 10 is written "X".
 *
 * Legacy 15-digit numbers (before GB 11643-1999) have a 6-digit birth date YYMMDD and no check character.
 * GB 11643-1999 converts them by inserting the century "19" and appending the MOD 11-2 check character.
 *
 * Accepted spellings: full-width digits and "ｘ/Ｘ" (NFKC), any whitespace anywhere, lower-case "x".
 * Canonical form: `cn-id:` + 18 characters, check character upper-case: `cn-id:11010519491231002X`.
 *
 * Checks, in order: shape, check character (so that every single-character typo is reported as a check
 * digit failure), province-level region code, birth date (real date, not after today in UTC+08:00, not
 * before 1900-01-01). The region check covers the first two digits only; the full six-digit address code is
 * not checked, because codes of abolished counties stay valid on IDs issued before their abolition.
 */
import { checkBirthDate } from "./date.ts";
import { fail, ok, type ParseResult } from "./result.ts";
import { CONTROL, nfkc, WHITESPACE } from "./text.ts";

/**
 * Province-level codes (first two digits of the address code) accepted on an ID.
 *
 * Source: GB/T 2260 《中华人民共和国行政区划代码》 (the province-level list has been stable since Chongqing
 * became 50 in 1997), which also assigns 71 (Taiwan), 81 (Hong Kong) and 82 (Macao); and the State Council
 * 《港澳台居民居住证申领发放办法》 (国办发〔2018〕81号), under which residence permits for Hong Kong, Macao
 * and Taiwan residents carry the address codes 810000, 820000 and 830000 in the same 18-character format.
 */
export const PROVINCE_CODES: Readonly<Record<string, string>> = Object.freeze({
  "11": "北京 Beijing",
  "12": "天津 Tianjin",
  "13": "河北 Hebei",
  "14": "山西 Shanxi",
  "15": "内蒙古 Inner Mongolia",
  "21": "辽宁 Liaoning",
  "22": "吉林 Jilin",
  "23": "黑龙江 Heilongjiang",
  "31": "上海 Shanghai",
  "32": "江苏 Jiangsu",
  "33": "浙江 Zhejiang",
  "34": "安徽 Anhui",
  "35": "福建 Fujian",
  "36": "江西 Jiangxi",
  "37": "山东 Shandong",
  "41": "河南 Henan",
  "42": "湖北 Hubei",
  "43": "湖南 Hunan",
  "44": "广东 Guangdong",
  "45": "广西 Guangxi",
  "46": "海南 Hainan",
  "50": "重庆 Chongqing",
  "51": "四川 Sichuan",
  "52": "贵州 Guizhou",
  "53": "云南 Yunnan",
  "54": "西藏 Tibet",
  "61": "陕西 Shaanxi",
  "62": "甘肃 Gansu",
  "63": "青海 Qinghai",
  "64": "宁夏 Ningxia",
  "65": "新疆 Xinjiang",
  "71": "台湾 Taiwan",
  "81": "香港 Hong Kong (residence permit)",
  "82": "澳门 Macao (residence permit)",
  "83": "台湾 Taiwan (residence permit)",
});

/** A validated PRC resident ID. */
export interface CnId {
  kind: "cn-id";
  canonical: `cn-id:${string}`;
  /** The 18-character number, check character upper-case. */
  id: string;
  /** Birth date encoded in the number, YYYY-MM-DD. */
  birthDate: string;
  /** First two digits: the province-level region (see PROVINCE_CODES). */
  provinceCode: string;
  /** True when the input was a legacy 15-digit number converted to 18 characters. */
  convertedFromLegacy: boolean;
}

export interface CnIdOptions {
  /** The current instant; birth dates after today (UTC+08:00) are rejected. */
  now: Date;
  /** Field (column) name reported in errors; defaults to "cn-id". */
  field?: string;
}

/** MOD 11-2 weights for positions 1..17: 2^(18-i) mod 11 (ISO 7064, GB 11643-1999 §7.2). */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;

/** The ISO 7064 MOD 11-2 check character ("0"–"9" or "X") for 17 decimal digits. */
export function cnIdCheckCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError("expected exactly 17 decimal digits");
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17.charCodeAt(i) - 48) * WEIGHTS[i]!;
  const check = (12 - (sum % 11)) % 11;
  return check === 10 ? "X" : String(check);
}

export function parseCnId(input: string, options: CnIdOptions): ParseResult<CnId> {
  const field = options.field;
  const s = nfkc(input).replace(WHITESPACE, "").toUpperCase();
  if (s === "") return fail("cn-id", field, "empty", "resident ID is empty");
  if (CONTROL.test(s) || !/^[0-9]+X?$/.test(s)) {
    return fail("cn-id", field, "invalid-character", "resident ID may contain only digits and a final X");
  }

  let id: string;
  let legacy: boolean;
  if (s.length === 18) {
    const expected = cnIdCheckCharacter(s.slice(0, 17));
    if (s[17] !== expected) {
      return fail(
        "cn-id",
        field,
        "check-digit",
        "resident ID check character (ISO 7064 MOD 11-2) does not match",
      );
    }
    id = s;
    legacy = false;
  } else if (s.length === 15 && !s.endsWith("X")) {
    const first17 = `${s.slice(0, 6)}19${s.slice(6)}`;
    id = first17 + cnIdCheckCharacter(first17);
    legacy = true;
  } else {
    return fail(
      "cn-id",
      field,
      "length",
      "resident ID must have 18 characters (or 15 digits for a legacy ID)",
    );
  }

  const provinceCode = id.slice(0, 2);
  if (!Object.hasOwn(PROVINCE_CODES, provinceCode)) {
    return fail(
      "cn-id",
      field,
      "region",
      "resident ID does not start with a valid province-level region code",
    );
  }

  const birth = checkBirthDate(
    Number(id.slice(6, 10)),
    Number(id.slice(10, 12)),
    Number(id.slice(12, 14)),
    options.now,
  );
  if (!birth.ok) return fail("cn-id", field, birth.reason, `resident ID birth date: ${birth.message}`);

  return ok({
    kind: "cn-id",
    canonical: `cn-id:${id}`,
    id,
    birthDate: birth.date,
    provinceCode,
    convertedFromLegacy: legacy,
  });
}
