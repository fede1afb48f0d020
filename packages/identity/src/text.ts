/** Text helpers shared by the parsers. */

/**
 * Unicode NFKC (UAX #15) after dropping invisible format characters. NFKC folds full-width digits, Latin
 * letters and punctuation (U+FF01–U+FF5E) to ASCII and the ideographic space U+3000 to U+0020, among other
 * compatibility mappings. Format characters (Unicode category Cf: zero-width space, byte-order mark, bidi
 * marks, soft hyphen) are invisible in spreadsheets and carry no identity, so they are removed.
 */
export function nfkc(s: string): string {
  return s.replace(/\p{Cf}/gu, "").normalize("NFKC");
}

/** NFKC, lower-case, NFKC again (lower-casing can leave a few strings un-normalised). */
export function foldCase(s: string): string {
  return nfkc(nfkc(s).toLowerCase());
}

/** Runs of Unicode whitespace (covers tab, newline, NBSP, U+3000 and the other Zs characters). */
export const WHITESPACE = /\s+/gu;

/** C0/C1 control characters left after whitespace handling. */
export const CONTROL = /\p{Cc}/u;
