/**
 * E-mail addresses (RFC 5321 / RFC 5322 addr-spec, RFC 6531 for non-ASCII local parts).
 *
 * Normalisation: Unicode NFKC (full-width "＠" and letters fold to ASCII), trim, then lower-case the whole
 * address. RFC 5321 §2.4 lets a receiving host treat local parts case-sensitively, but no mainstream
 * provider does, and members' data entry is case-inconsistent: two spellings of one mailbox must give one
 * tag. The domain is converted to its ASCII (punycode, "xn--") form with the WHATWG URL parser (UTS #46
 * processing, also mapping the ideographic full stop "。" to "."), so an IDN domain typed in Unicode and in
 * punycode gives the same canonical string.
 *
 * Deliberately not done: provider-specific folding (Gmail dot removal, "+tag" stripping, googlemail.com →
 * gmail.com). Those rules differ by provider and change over time; applying them would merge mailboxes that
 * the provider keeps apart.
 *
 * Shape checks: exactly one "@"; local part non-empty, at most 64 UTF-8 octets, dot-atom (no leading,
 * trailing or doubled dot, no whitespace, quotes, brackets, commas, semicolons, colons or backslashes —
 * quoted local parts are not accepted); domain a DNS name of at least two labels, each 1–63 LDH characters
 * after punycode, at most 253 characters, not an IP literal. Internal whitespace is rejected, not removed.
 *
 * Canonical form: `email:` + local@ascii-domain, e.g. `email:zhang.san@example.com`; 张三@例子.中国 gives `email:张三@xn--fsqu00a.xn--fiqs8s`.
 */
import { fail, ok, type ParseResult } from "./result.ts";
import { CONTROL, foldCase } from "./text.ts";

/** A validated e-mail address. */
export interface Email {
  kind: "email";
  canonical: `email:${string}`;
  /** localPart@domain, lower-case, domain in ASCII. */
  address: string;
  localPart: string;
  /** ASCII (punycode) domain. */
  domain: string;
}

export interface EmailOptions {
  /** Field (column) name reported in errors; defaults to "email". */
  field?: string;
}

const LOCAL_FORBIDDEN = /[\s"(),:;<>[\]\\]/u;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function parseEmail(input: string, options: EmailOptions = {}): ParseResult<Email> {
  const field = options.field;
  const s = foldCase(input).trim();
  if (s === "") return fail("email", field, "empty", "e-mail address is empty");
  if (/\s/u.test(s) || CONTROL.test(s)) {
    return fail(
      "email",
      field,
      "invalid-character",
      "e-mail address contains whitespace or control characters",
    );
  }
  const parts = s.split("@");
  if (parts.length < 2) return fail("email", field, "missing-at", 'e-mail address has no "@"');
  if (parts.length > 2) return fail("email", field, "multiple-at", 'e-mail address has more than one "@"');
  const [local, unicodeDomain] = parts as [string, string];

  if (
    local === "" ||
    new TextEncoder().encode(local).length > 64 ||
    LOCAL_FORBIDDEN.test(local) ||
    local.startsWith(".") ||
    local.endsWith(".") ||
    local.includes("..")
  ) {
    return fail("email", field, "local-part", "e-mail local part (before @) is empty or malformed");
  }

  const domain = toAsciiDomain(unicodeDomain);
  if (domain === undefined) {
    return fail("email", field, "domain", "e-mail domain (after @) is not a valid domain name with a dot");
  }
  const address = `${local}@${domain}`;
  return ok({ kind: "email", canonical: `email:${address}`, address, localPart: local, domain });
}

/** Unicode or ASCII domain → lower-case ASCII (punycode) domain, or undefined when it is not a DNS name. */
function toAsciiDomain(domain: string): string | undefined {
  const d = domain.replace(/[\u3002\uff61]/gu, ".");
  // Only letters, marks, digits, hyphens and dots: anything else would change how URL parses the string.
  if (d === "" || !/^[\p{L}\p{M}\p{N}.-]+$/u.test(d)) return undefined;
  let host: string;
  try {
    host = new URL(`http://${d}/`).hostname;
  } catch {
    return undefined;
  }
  const labels = host.split(".");
  if (host.length > 253 || labels.length < 2) return undefined;
  if (!labels.every((l) => DNS_LABEL.test(l))) return undefined;
  // The top-level label of a DNS name is never all-numeric; this also rules out IPv4 literals.
  if (/^\d+$/.test(labels[labels.length - 1]!)) return undefined;
  return host;
}
