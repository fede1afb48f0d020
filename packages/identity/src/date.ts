/**
 * Calendar-date checks shared by the resident-ID birth date and the name + date-of-birth identifier.
 *
 * "Today" is the calendar date of the injected `now` in China Standard Time (UTC+08:00, no daylight saving
 * since 1991): members record birth dates in Beijing time, and a person born today is valid.
 */
import type { ReasonCode } from "./result.ts";

/** Earliest accepted birth date. */
export const MIN_BIRTH_DATE = "1900-01-01";

const CST_OFFSET_MS = 8 * 60 * 60 * 1000;

/** `now` as an ISO calendar date (YYYY-MM-DD) in UTC+08:00. */
export function todayInChina(now: Date): string {
  const t = now.getTime();
  if (!Number.isFinite(t)) throw new RangeError("now must be a valid Date");
  return new Date(t + CST_OFFSET_MS).toISOString().slice(0, 10);
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return [31, isLeapYear(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
}

/**
 * Checks a proleptic-Gregorian date and returns it as YYYY-MM-DD, or the reason it is not acceptable as a
 * birth date: not a real calendar date, after today, or before 1900-01-01.
 */
export function checkBirthDate(
  year: number,
  month: number,
  day: number,
  now: Date,
): { ok: true; date: string } | { ok: false; reason: ReasonCode; message: string } {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, reason: "date-invalid", message: "not a real calendar date" };
  }
  const date = `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  if (date < MIN_BIRTH_DATE) {
    return { ok: false, reason: "date-too-early", message: `birth date is before ${MIN_BIRTH_DATE}` };
  }
  if (date > todayInChina(now)) {
    return { ok: false, reason: "date-future", message: "birth date is in the future" };
  }
  return { ok: true, date };
}
