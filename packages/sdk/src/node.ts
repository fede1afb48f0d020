/**
 * The member node: everything a member does with Relink, with raw identifiers and contact values kept
 * inside the member. What leaves: blinded elements (to key holders), tags, sealed labels, value digests,
 * consent metadata and signed requests (to the hub).
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  attestConsentWith,
  CONTACT_CONDUCT,
  type ConsentProofsWire,
  type ContactConduct,
  consentCaseCommitment,
  fromBase64Url,
  fromHex,
  keyHolderAudience,
  type LabelKind,
  LIMITS,
  lengthPrefixed,
  type PublishBatchInput,
  type Purpose,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import { createRequester } from "@relink/protocol/http";
import {
  bufferedRng,
  type EpochId,
  type Label,
  nobleSymmetric,
  openLabel,
  PsiError,
  type Rng,
  type SymmetricCrypto,
  sealLabel,
  type ThresholdPublicKeys,
} from "@relink/psi";
import { createHubClient, type HubClient } from "./hub-client.ts";
import type { ConsentRow, ContactRow, DebtorRow } from "./rows.ts";
import { type RequestSigner, signedFetch } from "./signing.ts";
import { computeTags, singleThreaded, type TagCrypto, type TagKeysFor } from "./tags.ts";

export interface MemberSecrets {
  signer: RequestSigner;
  /** 32 random bytes that key the member's record ids; never leaves the node. */
  recordKey: Uint8Array;
}

/**
 * What the member node needs of consent-membership proofs (ADR 0050), supplied by the caller — so this
 * module, and with it the SDK's browser entry, never imports the prover (snarkjs), its artifact files or Node
 * built-ins. Build it with `consentProofs(book, prover)` from consent-proofs.ts.
 */
export interface ConsentProofs {
  /** Adds a consent record (salt from the record key and the record's reference); true when it was new. */
  add(
    recordKey: Uint8Array,
    reference: string,
    c: {
      tag: Uint8Array;
      purpose: string;
      /** The data category the leaf covers (ADR 0048; one leaf per category). */
      category: string;
      legalBasis: string;
      expiresAt: number;
      evidenceHash: Uint8Array;
    },
  ): boolean;
  /** Whether the book can prove a consent for the tag, purpose and data category at `at` (ms). */
  covers(tag: Uint8Array, purpose: string, category: string, at: number): boolean;
  readonly size: number;
  /** The book's root and the verification key's SHA-256, base64url, as `consentProof.commitRoot` takes them. */
  commitment(): { root: string; vkeyHash: string };
  /** Proves a lookup's tags: what the wire carries, and the bundle (JSON) to keep beside the receipt. */
  prove(q: {
    tags: readonly Uint8Array[];
    purpose: string;
    /** The data category the query reads: "contact" for a lookup, "credit_exposure" for exposure. */
    category: string;
    queryTime: number;
  }): Promise<{ wire: ConsentProofsWire; bundle: unknown }>;
}

export interface MemberNodeOptions {
  hubUrl: string;
  /**
   * The network's id, when the caller knows it: requests are signed for this hub audience without reading
   * `${hubUrl}/healthz` first (the portal's worker reaches tRPC under `/api`, where there is no health route).
   */
  networkId?: string;
  secrets: MemberSecrets;
  fetch?: typeof fetch;
  clock?: () => Date;
  onProgress?: (stage: string, done: number, total: number) => void;
  /**
   * Blind/combine implementation and symmetric backend; defaults to single-threaded noble (use
   * `pooled(pool, await loadSodiumSymmetric())` for bulk work in Node).
   */
  crypto?: TagCrypto;
  /** Identifiers per key-holder request. */
  batchSize?: number;
  /** Key-holder requests in flight at once (see computeTags). */
  concurrency?: number;
  /**
   * Consent-membership proofs (ADR 0050): the member's consent book and a prover, as built by
   * `consentProofs(book, prover)` (consent-proofs.ts, Node only). With them, `match` attaches a proof per tag
   * and only asks about tags the book covers; `commitConsents` fills the book.
   */
  consentProofs?: ConsentProofs;
  /** Deadline for one key-holder request (computeTags' timeoutMs; default 120 s). */
  holderTimeoutMs?: number;
}

export interface NetworkView {
  epoch: EpochId;
  keys: ThresholdPublicKeys;
  holders: { index: number; url: string }[];
}

const DAY_MS = 86_400_000;
/** Consents per registration request. */
const BATCH = 1000;
/** Records per publication batch, and publication or lookup requests in flight at once. */
const PUBLISH_BATCH = 2000;
const HUB_IN_FLIGHT = 2;

/** HMAC of the canonical value under the subject's label key: equal across members for the same value. */
export function valueDigest(
  labelKey: Uint8Array,
  kind: LabelKind,
  value: string,
  sym: SymmetricCrypto = nobleSymmetric,
): Uint8Array {
  return sym.hmacSha256(labelKey, lengthPrefixed("relink/v1/value-digest", kind, value));
}

/** The publisher's stable id for a record, so re-publishing the same contact replaces it. */
export function recordId(
  recordKey: Uint8Array,
  tag: Uint8Array,
  kind: LabelKind,
  value: string,
  sym: SymmetricCrypto = nobleSymmetric,
): Uint8Array {
  return sym.hmacSha256(recordKey, lengthPrefixed("relink/v1/record-id", tag, kind, value)).slice(0, 16);
}

/**
 * The AD of a sealed label binds its tag and the publisher's record id, not the publisher's member id: a
 * label cannot be moved to another subject or record, and the querier does not learn who published it.
 */
function labelContext(tag: Uint8Array, rid: Uint8Array, kind: LabelKind, labelVersion: number) {
  return { tag, publisherRef: `record:${toBase64Url(rid)}`, kind, labelVersion };
}

const toUnix = (day: string) => Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000);
const fromUnix = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);

export interface MatchedContact {
  kind: LabelKind;
  value: string;
  firstSeen: string;
  lastSeen: string;
  sourceType: string;
  /** Members holding this value for the debtor (publishers that sent it; the querier's own data excluded). */
  corroboration: number;
  confidence: number;
}

export interface DebtorMatch {
  ref: string;
  row: number;
  status: "matched" | "no_match" | "no_consent";
  contacts: MatchedContact[];
}

/**
 * Confidence shown to the operator: the best publisher confidence, discounted by age of last sighting
 * (full within 90 days, falling linearly to half at two years), plus 10 per additional corroborating member.
 */
export function contactConfidence(
  publisherConfidence: number,
  corroboration: number,
  lastSeen: string,
  now: Date,
): number {
  const ageDays = Math.max(0, (now.getTime() - Date.parse(`${lastSeen}T00:00:00Z`)) / DAY_MS);
  const recency = ageDays <= 90 ? 1 : Math.max(0.5, 1 - (0.5 * (ageDays - 90)) / (730 - 90));
  return Math.min(100, Math.round(publisherConfidence * recency + 10 * (corroboration - 1)));
}

export class MemberNode {
  readonly hub: HubClient;
  readonly network: NetworkView;
  readonly memberId: string;
  readonly slug: string;
  private readonly secrets: MemberSecrets;
  /** Signed fetch for key holders: one quick retry (a stale socket), then fail over to another holder. */
  private readonly signedToHolders: typeof fetch;
  private readonly clock: () => Date;
  private readonly progress: NonNullable<MemberNodeOptions["onProgress"]>;
  private readonly crypto: TagCrypto;
  private readonly sym: SymmetricCrypto;
  private readonly batchSize: number | undefined;
  private readonly concurrency: number | undefined;
  private readonly zk: MemberNodeOptions["consentProofs"];
  private readonly holderTimeoutMs: number | undefined;

  private constructor(
    o: MemberNodeOptions,
    hub: HubClient,
    network: NetworkView,
    who: { id: string; slug: string },
  ) {
    this.hub = hub;
    this.network = network;
    this.memberId = who.id;
    this.slug = who.slug;
    this.secrets = o.secrets;
    // Requests through `signedToHolders` go to the key holders: each is signed for the holder it is sent to.
    const holderAt = new Map(
      network.holders.map((h) => [`${h.url.replace(/\/$/, "")}/v1/evaluate`, h.index]),
    );
    this.signedToHolders = signedFetch(o.secrets.signer, {
      fetch: o.fetch ?? createRequester({ retry: { retries: 1, baseDelayMs: 50 } }),
      audience: (url) => {
        const index = holderAt.get(`${url.origin}${url.pathname}`);
        if (index === undefined)
          throw new Error(`${url.origin}${url.pathname} is not a key holder of this network`);
        return keyHolderAudience(network.epoch.networkId, index);
      },
    });
    this.clock = o.clock ?? (() => new Date());
    this.progress = o.onProgress ?? (() => {});
    this.crypto = o.crypto ?? singleThreaded;
    this.sym = this.crypto.symmetric ?? nobleSymmetric;
    this.batchSize = o.batchSize;
    this.concurrency = o.concurrency;
    this.zk = o.consentProofs;
    this.holderTimeoutMs = o.holderTimeoutMs;
  }

  /** Connects to the hub, learns the epoch and key holders, and checks who we are. */
  static async connect(o: MemberNodeOptions): Promise<MemberNode> {
    const hub = createHubClient({
      url: o.hubUrl,
      signer: o.secrets.signer,
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.networkId ? { networkId: o.networkId } : {}),
    });
    const info = await hub.network.info.query();
    const who = await hub.network.whoami.query();
    const epoch = { networkId: info.networkId, epoch: info.epoch };
    const keys: ThresholdPublicKeys = {
      ...epoch,
      threshold: info.threshold,
      groupPublicKey: fromBase64Url(info.groupPublicKey),
      publicShares: new Map(info.keyHolders.map((h) => [h.index, fromBase64Url(h.publicShare)])),
    };
    const holders = info.keyHolders.map((h) => ({ index: h.index, url: h.url }));
    return new MemberNode(o, hub, { epoch, keys, holders }, who);
  }

  /**
   * Tags and label keys for canonical identifiers, through the key holders. `onTags` receives them chunk
   * by chunk as they are ready (see computeTags), so callers can send work to the hub meanwhile.
   */
  async tags(
    identifiers: readonly string[],
    onTags?: (chunk: TagKeysFor[]) => void | Promise<void>,
  ): Promise<Map<string, TagKeysFor>> {
    const unique = [...new Set(identifiers)];
    const computed = await computeTags(
      {
        keys: this.network.keys,
        holders: this.network.holders,
        fetch: this.signedToHolders,
        ...this.crypto,
        ...(this.batchSize ? { batchSize: this.batchSize } : {}),
        ...(this.concurrency ? { concurrency: this.concurrency } : {}),
        ...(this.holderTimeoutMs ? { timeoutMs: this.holderTimeoutMs } : {}),
        ...(onTags ? { onTags } : {}),
        onProgress: (d, t) => this.progress("tags", d, t),
      },
      this.network.epoch,
      unique,
    );
    return new Map(computed.map((c) => [c.identifier, c]));
  }

  /**
   * Publishes contact rows: every contact under every identifier of its subject, in batches of
   * PUBLISH_BATCH records. Batches are sent as soon as their subjects' tags are ready, HUB_IN_FLIGHT at a
   * time, while the key holders work on the next tags. A contact given twice for the same identifier is
   * one record (the same record id): it is sent once, from its freshest row. On an error, batches already
   * acknowledged stay published; the error says what failed.
   */
  async publishContacts(rows: readonly ContactRow[], batchIds: () => string = () => crypto.randomUUID()) {
    const bySubject = new Map<string, ContactRow[]>();
    for (const r of rows) {
      for (const subject of r.subjects) {
        const list = bySubject.get(subject);
        if (list) list.push(r);
        else bySubject.set(subject, [r]);
      }
    }
    const total = [...bySubject.values()].reduce((n, list) => n + freshestPerValue(list).length, 0);
    const sender = new InFlight(HUB_IN_FLIGHT);
    const receipts: unknown[] = [];
    // Label nonces for this publication from one WebCrypto call per 64 KiB, not one per record (ADR 0043).
    const nonces = bufferedRng();
    let upserted = 0;
    let sent = 0;
    let pending: PublishUpsert[] = [];
    const send = (upserts: PublishUpsert[]) => {
      const slot = receipts.push(undefined) - 1;
      return sender.run(async () => {
        const r = await this.hub.directory.publish.mutate({
          batchId: batchIds(),
          epoch: this.network.epoch.epoch,
          upserts,
          deletions: [],
        });
        upserted += r.upserted;
        receipts[slot] = r.receipt ?? undefined;
        sent += upserts.length;
        this.progress("publish", sent, total);
      });
    };
    await this.tags([...bySubject.keys()], async (chunk) => {
      for (const t of chunk) {
        for (const r of freshestPerValue(bySubject.get(t.identifier)!)) {
          pending.push(this.sealedUpsert(t, r.contact, nonces));
          if (pending.length === PUBLISH_BATCH) {
            const full = pending;
            pending = [];
            await send(full);
          }
        }
      }
    });
    if (pending.length > 0) await send(pending);
    await sender.settle();
    return { records: upserted, receipts: receipts.filter((r) => r !== undefined) };
  }

  /** One directory record: the contact sealed under the subject's label key, addressed by its tag. */
  private sealedUpsert(t: TagKeysFor, c: ContactRow["contact"], nonces: Rng): PublishUpsert {
    const label: Label = {
      kind: c.kind,
      value: c.value,
      firstSeen: toUnix(c.firstSeen),
      lastSeen: toUnix(c.lastSeen),
      sourceType: c.sourceType,
      confidence: c.confidence,
    };
    // The label version grows with the last sighting, so a fresher upsert supersedes an older one.
    const labelVersion = Math.floor(label.lastSeen / 86_400);
    const rid = recordId(this.secrets.recordKey, t.tag, c.kind, c.value, this.sym);
    const sealed = sealLabel(
      t.labelKey,
      labelContext(t.tag, rid, c.kind, labelVersion),
      label,
      nonces,
      this.sym,
    );
    return {
      tag: toBase64Url(t.tag),
      recordId: toBase64Url(rid),
      kind: c.kind,
      labelVersion,
      valueDigest: toBase64Url(valueDigest(t.labelKey, c.kind, c.value, this.sym)),
      lastSeenOn: c.lastSeen,
      sealed: toBase64Url(sealed),
    };
  }

  /** Erasure at this member: removes every record it published under the subjects' tags. */
  async erase(subjects: readonly string[]) {
    const tags = [...(await this.tags(subjects)).values()].map((t) => toBase64Url(t.tag));
    let deleted = 0;
    const receipts: unknown[] = [];
    for (let i = 0; i < tags.length; i += LIMITS.tagsPerLookup) {
      const r = await this.hub.directory.erase.mutate({ tags: tags.slice(i, i + LIMITS.tagsPerLookup) });
      deleted += r.deleted;
      receipts.push(r.receipt);
    }
    return { deleted, receipts };
  }

  /** Registers consents: one record per identifier tag of each row, referenced `<debtor_ref>#<n>`. */
  async importConsents(rows: readonly ConsentRow[]) {
    const tags = await this.tags(rows.flatMap((r) => r.subjects));
    // Each record is signed (consent attestation) and bound to the debtor's case: an HMAC of its reference
    // under a key derived from the member's record key, so the hub cannot test guesses of references.
    const caseKey = hmac(
      sha256,
      this.secrets.recordKey,
      new TextEncoder().encode("relink/v1/consent-case-key"),
    );
    const ctx = { networkId: this.network.epoch.networkId, memberId: this.memberId };
    const sign = (m: Uint8Array) => this.secrets.signer.sign(m);
    const unsigned = rows.flatMap((r) => {
      const caseCommitment = toBase64Url(consentCaseCommitment(caseKey, r.ref));
      return r.subjects.map((subject, n) => ({
        reference: `${r.ref}#${n + 1}`,
        tag: toBase64Url(tags.get(subject)!.tag),
        purpose: r.purpose,
        legalBasis: r.legalBasis,
        dataCategories: r.dataCategories,
        grantedAt: r.grantedAt,
        expiresAt: r.expiresAt,
        evidenceHash: toBase64Url(fromHex(r.evidenceSha256)),
        caseCommitment,
      }));
    });
    const consents = await Promise.all(unsigned.map((u) => attestConsentWith(sign, ctx, u)));
    const receipts: unknown[] = [];
    const counts = { registered: 0, updated: 0, unchanged: 0, revoked: 0 };
    for (let i = 0; i < consents.length; i += BATCH) {
      const r = await this.hub.consent.register.mutate({ consents: consents.slice(i, i + BATCH) });
      counts.registered += r.registered;
      counts.updated += r.updated;
      counts.unchanged += r.unchanged;
      counts.revoked += r.revoked;
      receipts.push(...(r.receipts.length > 0 ? r.receipts : r.receipt ? [r.receipt] : []));
    }
    return { ...counts, receipts };
  }

  /**
   * Commits consents for zero-knowledge lookups (ADR 0050): adds each row's identifier tags to the
   * consent book (salts derived from the record key, so re-committing a consent adds nothing) and logs
   * the book's new root at the hub. The consents themselves never leave the node.
   */
  async commitConsents(rows: readonly ConsentRow[]) {
    if (!this.zk) throw new Error("commitConsents: the node was started without consentProofs");
    const tags = await this.tags(rows.flatMap((r) => r.subjects));
    let added = 0;
    for (const r of rows) {
      r.subjects.forEach((subject, n) => {
        // One leaf per data category the consent covers (ADR 0048); the leaves differ in their scope.
        for (const category of r.dataCategories) {
          const fresh = this.zk!.add(this.secrets.recordKey, `${r.ref}#${n + 1}`, {
            tag: tags.get(subject)!.tag,
            purpose: r.purpose,
            category,
            legalBasis: r.legalBasis,
            expiresAt: Date.parse(r.expiresAt),
            evidenceHash: fromHex(r.evidenceSha256),
          });
          if (fresh) added++;
        }
      });
    }
    const r = await this.hub.consentProof.commitRoot.mutate({ ...this.zk.commitment(), count: this.zk.size });
    return { added, size: this.zk.size, committed: r.committed, receipt: r.receipt };
  }

  /**
   * Revokes consents by the references they were imported under (every `<ref>#<n>` record of a row).
   * The hub refuses the whole request, naming them, if a reference is unknown.
   */
  async revokeConsents(refs: readonly string[]) {
    let revoked = 0;
    let alreadyRevoked = 0;
    const receipts: unknown[] = [];
    const unique = [...new Set(refs)];
    for (let i = 0; i < unique.length; i += BATCH) {
      const r = await this.hub.consent.revoke.mutate({ references: unique.slice(i, i + BATCH) });
      revoked += r.revoked;
      alreadyRevoked += r.alreadyRevoked;
      if (r.receipt) receipts.push(r.receipt);
    }
    return { revoked, alreadyRevoked, receipts };
  }

  /**
   * Looks up fresher contacts for debtors. Each debtor's contacts are merged over all its identifiers,
   * deduplicated by (kind, value), and sorted newest first. Labels that fail to open are dropped and
   * counted (a tampered or mis-addressed record cannot pass as data).
   */
  async match(debtors: readonly DebtorRow[], purpose: Purpose, caseId: string) {
    const caseCommitment = toBase64Url(sha256(lengthPrefixed("relink/v1/case", caseId, this.memberId)));
    const status = new Map<string, "ok" | "no_consent">();
    const found = new Map<
      string,
      { kind: LabelKind; recordId: string; labelVersion: number; sealed: string; corroboration: number }[]
    >();
    const unique = new Set(debtors.flatMap((d) => d.subjects));
    // Lookups go out in batches of LIMITS.tagsPerLookup as tags become ready, HUB_IN_FLIGHT at a time.
    const lookups = new InFlight(HUB_IN_FLIGHT);
    const receipts: unknown[] = [];
    let conduct: ContactConduct = CONTACT_CONDUCT;
    /** With consent proofs: the bundle each lookup carried, at its receipt's position. */
    const consentProofs: unknown[] = [];
    let asked = 0;
    let pending: string[] = [];
    const lookup = (all: string[]) => {
      // With consent proofs, tags the book cannot prove are not asked about at all (they stay no_consent).
      const queryTime = this.clock().getTime();
      const zk = this.zk;
      const tags = zk ? all.filter((t) => zk.covers(fromBase64Url(t), purpose, "contact", queryTime)) : all;
      if (tags.length === 0) return Promise.resolve();
      const slot = receipts.push(undefined) - 1;
      return lookups.run(async () => {
        const proved = zk
          ? await zk.prove({ tags: tags.map(fromBase64Url), purpose, category: "contact", queryTime })
          : undefined;
        const r = await this.hub.lookup.run.mutate({
          epoch: this.network.epoch.epoch,
          purpose,
          tags,
          caseCommitment,
          ...(proved ? { consentProofs: proved.wire } : {}),
        });
        receipts[slot] = r.receipt;
        conduct = r.conduct;
        if (proved) consentProofs[slot] = proved.bundle;
        for (const res of r.results) {
          const hex = toHex(fromBase64Url(res.tag));
          status.set(hex, res.status);
          found.set(hex, res.records);
        }
        asked += tags.length;
        this.progress("lookup", asked, unique.size);
      });
    };
    const tags = await this.tags([...unique], async (chunk) => {
      for (const t of chunk) {
        pending.push(toBase64Url(t.tag));
        if (pending.length === LIMITS.tagsPerLookup) {
          const full = pending;
          pending = [];
          await lookup(full);
        }
      }
    });
    if (pending.length > 0) await lookup(pending);
    await lookups.settle();
    const now = this.clock();
    let unreadable = 0;
    const results: DebtorMatch[] = debtors.map((d) => {
      const merged = new Map<string, MatchedContact>();
      let consented = false;
      for (const subject of d.subjects) {
        const t = tags.get(subject)!;
        const hex = toHex(t.tag);
        if (status.get(hex) === "ok") consented = true;
        for (const rec of found.get(hex) ?? []) {
          let label: Label;
          try {
            label = openLabel(
              t.labelKey,
              labelContext(t.tag, fromBase64Url(rec.recordId), rec.kind, rec.labelVersion),
              fromBase64Url(rec.sealed),
              this.sym,
            );
          } catch (error) {
            if (error instanceof PsiError) {
              unreadable++;
              continue;
            }
            throw error;
          }
          const key = `${label.kind}\u0000${label.value}`;
          const prev = merged.get(key);
          const firstSeen = fromUnix(label.firstSeen);
          const lastSeen = fromUnix(label.lastSeen);
          if (!prev) {
            merged.set(key, {
              kind: label.kind,
              value: label.value,
              firstSeen,
              lastSeen,
              sourceType: label.sourceType,
              corroboration: rec.corroboration,
              confidence: label.confidence,
            });
          } else {
            if (firstSeen < prev.firstSeen) prev.firstSeen = firstSeen;
            if (lastSeen > prev.lastSeen) {
              prev.lastSeen = lastSeen;
              prev.sourceType = label.sourceType;
            }
            prev.corroboration = Math.max(prev.corroboration, rec.corroboration);
            prev.confidence = Math.max(prev.confidence, label.confidence);
          }
        }
      }
      const contacts = [...merged.values()]
        .map((c) => ({ ...c, confidence: contactConfidence(c.confidence, c.corroboration, c.lastSeen, now) }))
        .sort((a, b) =>
          a.lastSeen === b.lastSeen ? b.confidence - a.confidence : a.lastSeen < b.lastSeen ? 1 : -1,
        );
      return {
        ref: d.ref,
        row: d.row,
        status: !consented ? "no_consent" : contacts.length > 0 ? "matched" : "no_match",
        contacts,
      };
    });
    // The conduct window every contact comes with (GB/T 45251: no contact 22:00–08:00 UTC+8).
    return { results, receipts, unreadable, consentProofs, caseCommitment, conduct };
  }
}

type PublishUpsert = PublishBatchInput["upserts"][number];

/** A subject's rows, one per (kind, value): the freshest sighting, the later row on a tie. */
function freshestPerValue(rows: readonly ContactRow[]): ContactRow[] {
  if (rows.length === 1) return [...rows];
  const best = new Map<string, ContactRow>();
  for (const r of rows) {
    const key = `${r.contact.kind}\u0000${r.contact.value}`;
    const prev = best.get(key);
    if (!prev || r.contact.lastSeen >= prev.contact.lastSeen) best.set(key, r);
  }
  return [...best.values()];
}

/**
 * At most `limit` requests in flight. `run` resolves once the task has started (waiting for a free slot
 * first), so a producer that awaits it is held back; `settle` waits for every task and throws the first
 * failure. After a failure, `run` throws it instead of starting more work.
 */
class InFlight {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure.error;
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }
  async settle(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure.error;
  }
}
