import { describe, expect, it } from "vitest";
import {
  cnIdCheckCharacter,
  PROVINCE_CODES,
  parseCnId,
  parseEmail,
  parseNameDob,
  parsePhone,
} from "../src/index.ts";
import { referenceCheckCharacter } from "./iso7064.ts";

const NOW = new Date("2026-11-26T04:00:00Z");

describe("parseCnId", () => {
  it("returns the birth date, province and legacy flag", () => {
    const r = parseCnId("110105491231002", { now: NOW });
    expect(r).toEqual({
      ok: true,
      value: {
        kind: "cn-id",
        canonical: "cn-id:11010519491231002X",
        id: "11010519491231002X",
        birthDate: "1949-12-31",
        provinceCode: "11",
        convertedFromLegacy: true,
      },
    });
  });

  it("judges 'future' by the calendar date in UTC+08:00", () => {
    const id = "440304202611270018"; // born 2026-11-27
    expect(parseCnId(id, { now: new Date("2026-11-26T15:59:59Z") }).ok).toBe(false); // 23:59:59 CST
    expect(parseCnId(id, { now: new Date("2026-11-26T16:00:00Z") }).ok).toBe(true); // 00:00 CST next day
  });

  it("names the field, the reason and a message without the value", () => {
    const r = parseCnId("440304199001011234", { now: NOW, field: "证件号码" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ kind: "cn-id", field: "证件号码", reason: "check-digit" });
    expect(r.error.message).not.toContain("440304");
  });

  it("rejects an invalid now", () => {
    expect(() => parseCnId("11010519491231002X", { now: new Date(Number.NaN) })).toThrow(RangeError);
  });

  it("accepts exactly the documented province table", () => {
    const expected = [
      ...["11", "12", "13", "14", "15", "21", "22", "23"],
      ...["31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46"],
      ...["50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"],
    ];
    expect(Object.keys(PROVINCE_CODES).sort()).toEqual(expected);
    for (let p = 0; p < 100; p++) {
      const first17 = `${String(p).padStart(2, "0")}0101199001010${"01"}`;
      const id = first17 + referenceCheckCharacter(first17);
      expect(parseCnId(id, { now: NOW }).ok).toBe(expected.includes(id.slice(0, 2)));
    }
  });

  it("cnIdCheckCharacter agrees with the reference and refuses bad input", () => {
    expect(cnIdCheckCharacter("11010519491231002")).toBe("X");
    expect(cnIdCheckCharacter("44030419900101123")).toBe(referenceCheckCharacter("44030419900101123"));
    expect(() => cnIdCheckCharacter("1101051949123100")).toThrow(RangeError);
  });
});

describe("parsePhone", () => {
  it("reports line type and country", () => {
    const mobile = parsePhone("138 0013 8000");
    expect(mobile.ok && mobile.value).toMatchObject({
      e164: "+8613800138000",
      callingCode: "86",
      country: "CN",
      lineType: "MOBILE",
    });
    const landline = parsePhone("010-12345678");
    expect(landline.ok && landline.value).toMatchObject({ country: "CN", lineType: "FIXED_LINE" });
    const hk = parsePhone("+852 2123 4567");
    expect(hk.ok && hk.value).toMatchObject({ country: "HK", lineType: "FIXED_LINE" });
  });

  it("reads numbers without a country code in the configurable default region", () => {
    expect(parsePhone("07400 123456", { defaultRegion: "GB" })).toMatchObject({
      ok: true,
      value: { canonical: "phone:+447400123456", lineType: "MOBILE" },
    });
    expect(parsePhone("07400 123456").ok).toBe(false); // not a CN number
    expect(parsePhone("(650) 253-0000", { defaultRegion: "US" })).toMatchObject({
      value: { canonical: "phone:+16502530000" },
    });
    // An explicit country code wins over the default region.
    expect(parsePhone("+86 138 0013 8000", { defaultRegion: "US" })).toMatchObject({
      value: { canonical: "phone:+8613800138000" },
    });
    // The 86-without-plus rule for CN mobiles applies whatever the default region.
    expect(parsePhone("86 138 0013 8000", { defaultRegion: "GB" })).toMatchObject({
      value: { canonical: "phone:+8613800138000" },
    });
  });

  it("rejects a country code typed without + for other countries", () => {
    expect(parsePhone("44 7400 123456", { defaultRegion: "GB" })).toMatchObject({
      ok: false,
      error: { reason: "ambiguous-country-code" },
    });
  });

  it("throws on an unsupported default region (a programming error)", () => {
    // @ts-expect-error not a CountryCode
    expect(() => parsePhone("13800138000", { defaultRegion: "XX" })).toThrow(RangeError);
  });

  it("names the field and keeps the number out of the message", () => {
    const r = parsePhone("1380013800", { field: "mobile" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.field).toBe("mobile");
    expect(r.error.message).not.toContain("1380013800");
  });
});

describe("parseEmail", () => {
  it("splits local part and ASCII domain", () => {
    expect(parseEmail("Zhang.San@Example.COM")).toEqual({
      ok: true,
      value: {
        kind: "email",
        canonical: "email:zhang.san@example.com",
        address: "zhang.san@example.com",
        localPart: "zhang.san",
        domain: "example.com",
      },
    });
  });

  it("rejects a local part longer than 64 octets, counting UTF-8", () => {
    expect(parseEmail(`${"a".repeat(64)}@example.com`).ok).toBe(true);
    expect(parseEmail(`${"a".repeat(65)}@example.com`)).toMatchObject({ error: { reason: "local-part" } });
    expect(parseEmail(`${"张".repeat(22)}@example.com`)).toMatchObject({ error: { reason: "local-part" } }); // 66 octets
  });

  it("rejects labels over 63 characters", () => {
    expect(parseEmail(`a@${"b".repeat(63)}.com`).ok).toBe(true);
    expect(parseEmail(`a@${"b".repeat(64)}.com`)).toMatchObject({ error: { reason: "domain" } });
  });
});

describe("parseNameDob", () => {
  it("reports the name and date fields separately", () => {
    expect(
      parseNameDob("张三3", "1990-01-02", { now: NOW, nameField: "姓名", dobField: "出生日期" }),
    ).toMatchObject({
      error: { kind: "name-dob", field: "姓名", reason: "invalid-character" },
    });
    expect(
      parseNameDob("张三", "1990-02-30", { now: NOW, nameField: "姓名", dobField: "出生日期" }),
    ).toMatchObject({
      error: { kind: "name-dob", field: "出生日期", reason: "date-invalid" },
    });
  });

  it("keeps a space between Han and Latin, removes it only between Han characters", () => {
    expect(parseNameDob("张 San", "1990-01-02", { now: NOW })).toMatchObject({
      value: { name: "张 san", dateOfBirth: "1990-01-02" },
    });
  });

  it("limits the name to 100 characters", () => {
    expect(parseNameDob("张".repeat(100), "1990-01-02", { now: NOW }).ok).toBe(true);
    expect(parseNameDob("张".repeat(101), "1990-01-02", { now: NOW })).toMatchObject({
      error: { reason: "name-too-long" },
    });
  });

  it("drops invisible format characters", () => {
    expect(parseNameDob("\ufeff张\u200b三", "1990-01-02", { now: NOW })).toMatchObject({
      value: { canonical: "name-dob:张三|1990-01-02" },
    });
  });
});
