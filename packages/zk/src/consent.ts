/**
 * Consent commitments and the circuit's inputs (circuits/src/consent_membership.circom, ADR 0050).
 * A member commits each consent as Poseidon(tagHi, tagLo, scope, legalBasis, expiry, evidence, salt), where
 * scope = scopeField(purpose, data category) (ADR 0048), and puts the commitments in a 4-ary PoseidonTree of
 * 10 levels; it registers the root in the audit log and proves, per queried tag, that some leaf under that
 * root carries the tag, the declared purpose and the data category the query reads, and expires after the
 * query time. A consent covering several categories is committed as one leaf per category.
 */
import { poseidon7 } from "poseidon-lite/poseidon7";
import { ZkError } from "./errors.ts";
import {
  codeField,
  evidenceField,
  FIELD_ORDER,
  saltField,
  scopeField,
  tagLimbs,
  timeField,
} from "./fields.ts";
import { type MerklePath, TREE_ARITY, TREE_DEPTH } from "./tree.ts";

/** One consent as the member holds it (its secret side: never sent to the hub in this form). */
export interface ConsentOpening {
  /** 32-byte subject tag. */
  tag: Uint8Array;
  purpose: string;
  /** The data category the consent covers (protocol's DATA_CATEGORIES: contact, employment, credit_exposure). */
  category: string;
  legalBasis: string;
  /** Expiry, ms since the Unix epoch. */
  expiresAt: number;
  /** 32-byte hash of the consent evidence. */
  evidenceHash: Uint8Array;
  /** 31 random bytes, fresh per consent: hides the leaf even when the rest is guessable. */
  salt: Uint8Array;
}

/** The public statement a proof is about; the hub rebuilds it from the query and the log. */
export interface MembershipStatement {
  /** Committed consent root (field element). */
  root: bigint;
  /** The queried 32-byte tag. */
  tag: Uint8Array;
  /** The declared purpose code. */
  purpose: string;
  /** The data category the query reads (the hub sets it from the query kind, never from the member). */
  category: string;
  /** Query time, ms since the Unix epoch. */
  queryTime: number;
}

export function consentLeaf(c: ConsentOpening): bigint {
  const [hi, lo] = tagLimbs(c.tag);
  return poseidon7([
    hi,
    lo,
    scopeField(c.purpose, c.category),
    codeField("legal_basis", c.legalBasis),
    timeField("expiresAt", c.expiresAt),
    evidenceField(c.evidenceHash),
    saltField(c.salt),
  ]);
}

/** Public signals in the circuit's order: root, tagHi, tagLo, scope, queryTime (decimal strings). */
export function publicSignals(s: MembershipStatement): string[] {
  if (typeof s.root !== "bigint" || s.root < 0n || s.root >= FIELD_ORDER) {
    throw new ZkError("INVALID_INPUT", "root: a field element expected");
  }
  const [hi, lo] = tagLimbs(s.tag);
  return [s.root, hi, lo, scopeField(s.purpose, s.category), timeField("queryTime", s.queryTime)].map(String);
}

/** The full witness input for the circuit (all values as decimal strings). */
export function membershipInput(
  c: ConsentOpening,
  path: MerklePath,
  root: bigint,
  queryTime: number,
): Record<string, string | string[] | string[][]> {
  if (
    path.pathElements.length !== TREE_DEPTH ||
    path.pathElements.some((l) => l.length !== TREE_ARITY - 1) ||
    path.pathIndices.length !== 2 * TREE_DEPTH
  ) {
    throw new ZkError("INVALID_INPUT", `path: ${TREE_DEPTH} levels of ${TREE_ARITY - 1} siblings expected`);
  }
  const [r, hi, lo, scope, time] = publicSignals({
    root,
    tag: c.tag,
    purpose: c.purpose,
    category: c.category,
    queryTime,
  });
  return {
    root: r!,
    tagHi: hi!,
    tagLo: lo!,
    scope: scope!,
    queryTime: time!,
    legalBasis: String(codeField("legal_basis", c.legalBasis)),
    expiry: String(timeField("expiresAt", c.expiresAt)),
    evidenceHash: String(evidenceField(c.evidenceHash)),
    salt: String(saltField(c.salt)),
    pathElements: path.pathElements.map((l) => l.map(String)),
    pathIndices: path.pathIndices.map(String),
  };
}
