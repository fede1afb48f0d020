/**
 * The member's consent book for zero-knowledge lookups (ADR 0050): `<home>/consent-book.json`, written with
 * mode 0600 (it holds the consents' salts). Its presence switches `relink match` to proving every tag.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConsentBook } from "@relink/sdk";

const file = (home: string) => join(home, "consent-book.json");

export function readConsentBook(home: string): ConsentBook | undefined {
  if (!existsSync(file(home))) return undefined;
  return ConsentBook.fromJSON(JSON.parse(readFileSync(file(home), "utf8")));
}

export function saveConsentBook(home: string, book: ConsentBook): void {
  writeFileSync(file(home), `${JSON.stringify(book.toJSON())}\n`, { mode: 0o600 });
}
