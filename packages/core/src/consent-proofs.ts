/**
 * Consent-membership proofs at the hub (ADR 0050, docs/protocol/consent-proofs.md).
 *
 * `commitConsentRoot` logs a member's Poseidon consent root (a `consent.root_committed` leaf carrying the
 * root, its leaf count and the verification key's SHA-256) and records it. From then on — or for every
 * member when the network policy says `consentProofs.requiredForAll` — each lookup must carry one Groth16
 * proof per tag that the tag is in a consent under one of the member's logged roots, for the declared
 * purpose, unexpired at a query time within the hub's skew of its clock. The hub rebuilds every public
 * input itself (root from its table, tag and purpose from the query, the time it accepted) and verifies
 * before reading a record; one failing proof refuses the whole query. The bundle is stored by the lookup's
 * audit-leaf index, and the leaf commits to it (`consentProofsHash`).
 *
 * Exposure queries (ADR 0047) go through the same two functions, `checkConsentProofs` and
 * `storeConsentProofs`, with scope `exposure` (their denials name `exposure.consent-proof.*`).
 *
 * Data category (ADR 0048): the proof's public `scope` input is H(purpose, category), and the hub sets the
 * category from the query kind — `contact` for a lookup, `credit_exposure` for an exposure query, the
 * categories the registry path checks — never from anything the member sends. A consent committed for
 * contact relocation therefore proves nothing for an exposure query, and the reverse.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import type { DataCategory } from "@relink/db";
import {
  findConsentRoots,
  getConsentProofBundle,
  hasConsentRoot,
  insertConsentProofBundle,
  insertConsentRoot,
} from "@relink/db";
import {
  type CommitConsentRootInput,
  type ConsentProofsWire,
  fromBase64Url,
  fromHex,
  RelinkError,
  toHex,
} from "@relink/protocol";
import {
  bytesToField,
  type ConsentProofBundle,
  encodeBundle,
  proofsCommitment,
  publicSignals,
  VERIFICATION_KEY,
  VKEY_HASH,
  verifyMembership,
  ZkError,
} from "@relink/zk";
import type { AuthenticatedMember } from "./auth.ts";
import type { CoreDeps } from "./context.ts";
import { deny, requireActive } from "./denials.ts";

export const DEFAULT_PROOF_SKEW_MS = 5 * 60_000;

/**
 * Proofs already verified (ADR 0049): SHA-256 over the member, every public input and the proof bytes.
 * Verification is deterministic, so a proof presented again for the same statement by the same member is
 * known good without a pairing check — what lets a horizon proof, made once ahead of time, serve many
 * queries. Bounded: the oldest entries go first. Only the pairing check is skipped; the root, time and
 * statement checks run on every query. The app makes one per process and passes it in `CoreDeps`; without
 * one, every proof is verified every time.
 */
export class VerifiedProofCache {
  readonly max: number;
  hits = 0;
  readonly #keys = new Set<string>();

  constructor(max = 200_000) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("VerifiedProofCache: max must be ≥ 1");
    this.max = max;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** True (and counted as a hit) when this exact proof was verified before. */
  has(key: string): boolean {
    const known = this.#keys.has(key);
    if (known) this.hits++;
    return known;
  }

  remember(key: string): void {
    if (this.#keys.has(key)) return;
    if (this.#keys.size >= this.max) this.#keys.delete(this.#keys.values().next().value!);
    this.#keys.add(key);
  }
}

function proofKey(memberId: string, signals: readonly string[], proof: Uint8Array): string {
  return toHex(sha256(new TextEncoder().encode(`${memberId}\n${signals.join(",")}\n${toHex(proof)}`)));
}

export async function commitConsentRoot(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: CommitConsentRootInput,
): Promise<{ committed: boolean; receipt: unknown }> {
  await requireActive(deps, who);
  const root = fromBase64Url(input.root);
  const vkeyHash = fromBase64Url(input.vkeyHash);
  try {
    bytesToField("root", root);
  } catch (e) {
    throw new RelinkError("BAD_INPUT", (e as ZkError).message, { field: "root" });
  }
  if (toHex(vkeyHash) !== VKEY_HASH) {
    throw new RelinkError(
      "BAD_INPUT",
      `vkeyHash: the hub verifies against ${VKEY_HASH}; rebuild the member's artifacts`,
      { field: "vkeyHash" },
    );
  }
  const at = deps.clock();
  const done = await deps.db.transaction().execute(async (trx) => {
    const known = await findConsentRoots(trx, who.member.id, [root]);
    if (known.size > 0) return { committed: false, index: known.get(toHex(root))!.logIndex };
    const audit = await deps.audit.append(
      trx,
      {
        type: "consent.root_committed",
        memberId: who.member.id,
        consentRoot: { root, count: input.count },
        zkVkeyHash: vkeyHash,
        inputSize: input.count,
        outputCount: 1,
        decision: { allowed: true, rules: ["consent.root-commit"] },
        requestHash: who.requestHash,
      },
      at,
    );
    await insertConsentRoot(trx, {
      memberId: who.member.id,
      root,
      leafCount: input.count,
      vkeyHash,
      logIndex: audit.index,
      committedAt: at,
    });
    return { committed: true, index: audit.index };
  });
  return { committed: done.committed, receipt: await deps.audit.receipt({ index: done.index }) };
}

/** The query kinds that carry consent proofs; the scope prefixes the denial rules. */
export type ConsentProofScope = "lookup" | "exposure";

/** The data category each query kind reads, bound into every proof's public input (ADR 0048). */
export const PROOF_CATEGORY = {
  lookup: "contact",
  exposure: "credit_exposure",
} as const satisfies Record<ConsentProofScope, DataCategory>;

/** Whether this member's lookups and exposure queries must carry proofs. */
export async function proofsRequired(deps: CoreDeps, memberId: string): Promise<boolean> {
  return deps.policy.consentProofs?.requiredForAll === true || (await hasConsentRoot(deps.db, memberId));
}

/** Verified proofs: the bundle to store beside the query's leaf and its commitment (`consentProofsHash`). */
export interface ProvenQuery {
  bundle: ConsentProofBundle;
  commitment: Uint8Array;
}

/**
 * Verifies a lookup's or exposure query's proofs (or refuses the query, logging the denial under
 * `<scope>.consent-proof.*`). Returns the bundle to store and its commitment, or undefined when the member
 * sent none and none are required.
 */
export async function checkConsentProofs(
  deps: CoreDeps,
  who: AuthenticatedMember,
  scope: ConsentProofScope,
  q: { purpose: string; tags: Uint8Array[]; proofs: ConsentProofsWire | undefined; now: Date },
  denial: Record<string, unknown>,
): Promise<ProvenQuery | undefined> {
  const refuse = (rule: string, message: string, details: { row?: number; field?: string } = {}) =>
    deny(deps, who, new RelinkError("NO_CONSENT", message, details), {
      ...denial,
      rule: `${scope}.consent-proof.${rule}`,
    });
  const p = q.proofs;
  if (p === undefined) {
    if (await proofsRequired(deps, who.member.id)) {
      await refuse(
        "required",
        `this member's ${scope === "lookup" ? "lookups" : "exposure queries"} must carry consent proofs`,
        { field: "consentProofs" },
      );
    }
    return undefined;
  }
  if (p.items.length !== q.tags.length) {
    throw new RelinkError("BAD_INPUT", `consentProofs: ${q.tags.length} items expected (one per tag)`, {
      field: "consentProofs.items",
    });
  }
  const skew = deps.policy.consentProofs?.maxSkewMs ?? DEFAULT_PROOF_SKEW_MS;
  // A proof shows queryTime < expiry, so one made for a later time (a horizon, ADR 0049) also covers now;
  // how far ahead is policy (0 by default: the query's own time, within the skew).
  const ahead = Math.max(skew, deps.policy.consentProofs?.maxHorizonMs ?? 0);
  const lag = p.queryTime - q.now.getTime();
  if (lag < -skew || lag > ahead) {
    await refuse(
      "time",
      `consentProofs.queryTime must be within ${skew} ms before and ${ahead} ms after the hub's clock`,
      { field: "consentProofs.queryTime" },
    );
  }
  const category = PROOF_CATEGORY[scope];
  const roots = p.items.map((i) => fromBase64Url(i.root));
  const known = await findConsentRoots(deps.db, who.member.id, roots);
  const items: ConsentProofBundle["items"] = [];
  for (const [i, item] of p.items.entries()) {
    const row = i + 1;
    const rootHex = toHex(roots[i]!);
    if (!known.has(rootHex)) {
      await refuse("root", `consentProofs.items[${i}].root was never committed by this member`, {
        row,
        field: "consentProofs.items.root",
      });
    }
    let root: bigint;
    try {
      root = bytesToField("root", roots[i]!);
    } catch (e) {
      throw new RelinkError("BAD_INPUT", (e as ZkError).message, { row, field: "consentProofs.items.root" });
    }
    const proof = fromBase64Url(item.proof);
    const statement = { root, tag: q.tags[i]!, purpose: q.purpose, category, queryTime: p.queryTime };
    let ok: boolean;
    try {
      const key = proofKey(who.member.id, publicSignals(statement), proof);
      const cache = deps.verifiedProofs;
      ok = cache?.has(key) ?? false;
      if (!ok) {
        ok = await verifyMembership(VERIFICATION_KEY, statement, proof);
        if (ok) cache?.remember(key);
      }
    } catch (e) {
      if (!(e instanceof ZkError)) throw e;
      throw new RelinkError("BAD_INPUT", e.message, { row, field: "consentProofs.items.proof" });
    }
    if (!ok) {
      await refuse("invalid", `consentProofs.items[${i}] does not verify for ${q.purpose} (${category})`, {
        row,
        field: "consentProofs.items.proof",
      });
    }
    items.push({ tag: q.tags[i]!, root, proof });
  }
  const bundle: ConsentProofBundle = {
    vkeySha256: VKEY_HASH,
    purpose: q.purpose,
    category,
    queryTime: p.queryTime,
    items,
  };
  return { bundle, commitment: fromHex(proofsCommitment(bundle)) };
}

/** Stores a query's verified bundle by the index of the audit leaf that commits to it. */
export async function storeConsentProofs(
  deps: CoreDeps,
  memberId: string,
  logIndex: bigint,
  bundle: ConsentProofBundle,
  at: Date,
): Promise<void> {
  await insertConsentProofBundle(deps.db, { logIndex, memberId, bundle: encodeBundle(bundle), at });
}

/** @deprecated the lookup-only names of `checkConsentProofs` (scope "lookup") and `storeConsentProofs`. */
export const checkLookupProofs = (
  deps: CoreDeps,
  who: AuthenticatedMember,
  q: Parameters<typeof checkConsentProofs>[3],
  denial: Record<string, unknown>,
) => checkConsentProofs(deps, who, "lookup", q, denial);
export const storeLookupProofs = storeConsentProofs;

/** The proof bundle a lookup or exposure query carried (JSON), for the member that made it. */
export async function consentProofBundle(
  deps: CoreDeps,
  who: AuthenticatedMember,
  logIndex: bigint,
): Promise<string> {
  const found = await getConsentProofBundle(deps.db, logIndex);
  if (!found || found.memberId !== who.member.id) {
    throw new RelinkError("NOT_FOUND", `no consent proofs of this member at log index ${logIndex}`);
  }
  return found.bundle;
}
