/**
 * Independent ISO 7064:1983 MOD 11-2 reference for the tests, written from the definition rather than
 * from the package's weight table: a string a18…a1 (a1 the check character, "X" = 10) is valid when
 * Σ a_i · (2^(i-1) mod 11) ≡ 1 (mod 11), i counted from the right starting at 1.
 */
function value(ch: string): number {
  return ch === "X" ? 10 : Number(ch);
}

export function iso7064Valid(id: string): boolean {
  let sum = 0;
  for (let i = 1; i <= id.length; i++) {
    let w = 1;
    for (let k = 1; k < i; k++) w = (w * 2) % 11;
    sum += value(id[id.length - i]!) * w;
  }
  return sum % 11 === 1;
}

/** The unique check character that makes first17 + c valid, found by trying all eleven. */
export function referenceCheckCharacter(first17: string): string {
  const found = [..."0123456789X"].filter((c) => iso7064Valid(first17 + c));
  if (found.length !== 1) throw new Error("MOD 11-2 must have exactly one check character");
  return found[0]!;
}

/** GB 11643-1999 conversion of a legacy 15-digit number: insert "19" before YYMMDD, append the check. */
export function referenceConvertLegacy(id15: string): string {
  const first17 = `${id15.slice(0, 6)}19${id15.slice(6)}`;
  return first17 + referenceCheckCharacter(first17);
}
