/**
 * Audit-log leaf: a canonical, versioned, length-prefixed binary encoding of one audit event
 * (docs/protocol/audit-log.md §Leaf, ADR 0021). Layout, all integers big-endian:
 *
 *   magic       4 bytes   "RLAE"
 *   version     uint8     1
 *   event_type  uint16    registry in EVENT_TYPES; unknown codes decode (later issues add types)
 *   time        uint64    milliseconds since the Unix epoch
 *   fields      repeated  { uint16 tag; uint16 length; opaque value[length] }, tags strictly increasing
 *
 * Canonical: every field appears at most once, in tag order, in its one valid encoding; absent rather than
 * empty; decoding re-encodes and requires the same bytes. Extensible: a new field takes a new tag; decoders
 * keep unknown tags below 0x8000 (and ignore them), and reject unknown tags with the high bit set
 * ("critical"). Old leaves never change meaning. Values are commitments, hashes, counts and short codes from
 * a closed alphabet: there is no field that can hold personal data or result values.
 */
import { bytesEqual, concat, toHex } from "./bytes.ts";
import { hashLeaf, MemoryTree } from "./merkle.ts";

export const LEAF_MAGIC = new Uint8Array([0x52, 0x4c, 0x41, 0x45]); // "RLAE"
export const LEAF_VERSION = 1;
export const MAX_LEAF_BYTES = 16 * 1024;
export const MAX_SUBJECT_COMMITMENTS = 64;
export const MAX_LIST_ITEMS = 64;

/** Event type registry (uint16). Append only: a code, once assigned, never changes meaning. */
export const EVENT_TYPES = {
  "member.onboarded": 1,
  "member.suspended": 2,
  "member.reinstated": 3,
  "directory.published": 4,
  "directory.erased": 5,
  "directory.purged": 6,
  "consent.registered": 7,
  "consent.revoked": 8,
  lookup: 9,
  denial: 10,
  "exposure.query": 11,
  "exposure.subjects_registered": 12,
  "exposure.subjects_unregistered": 13,
  "exposure.mask_key_registered": 14,
  /** A member's consent-commitment root (ADR 0050): later queries prove membership under it. */
  "consent.root_committed": 15,
  "dpo.subject_report": 16,
  "dpo.export": 17,
  /**
   * A member replaced its request-signing key (ADR 0068; rule `member.rotate_key`) or its DPO its own key
   * (ADR 0037; rule `dpo.rotate_key`); the leaf's response hash names the new key.
   */
  "member.key_rotated": 18,
  /**
   * The network administrator re-keyed a member that lost its key (ADR 0037): every active request-signing
   * key revoked ('lost'), the member's new key registered; the leaf's response hash names the new key.
   */
  "member.rekeyed": 19,
  // Abuse controls (docs/adr/0045-abuse-controls.md); codes from 64 leave room for other additions.
  "alert.raised": 64,
  "sanction.applied": 65,
  "honeytoken.planted": 66,
  "optout.registered": 67,
  "exposure.book_declared": 68,
} as const;
export type KnownEventType = keyof typeof EVENT_TYPES;

export const FIELD_TAGS = {
  member: 0x0001,
  userPseudonym: 0x0002,
  purpose: 0x0003,
  legalBasis: 0x0004,
  caseCommitment: 0x0005,
  subjectTagCommitments: 0x0006,
  subjectTagsRoot: 0x0007,
  consentRefs: 0x0008,
  inputSize: 0x0009,
  outputCount: 0x000a,
  decision: 0x000b,
  ruleIds: 0x000c,
  requestHash: 0x000d,
  responseHash: 0x000e,
  softwareVersion: 0x000f,
  decisionReason: 0x0010,
  consentRefsRoot: 0x0011,
  consentRoot: 0x0012,
  zkVkeyHash: 0x0013,
  consentProofsHash: 0x0014,
  subjectNonce: 0x0015,
} as const;

export interface AuditEvent {
  /** A known name from EVENT_TYPES, or `0x` + 4 hex digits for a code this version does not know. */
  type: KnownEventType | `0x${string}`;
  /** Milliseconds since the Unix epoch. */
  time: number;
  /** Member UUID. */
  member?: string;
  /** 32 bytes, hex: the user's audit pseudonym, never a name or e-mail. */
  userPseudonym?: string;
  /** Purpose code, e.g. `skip_trace`. */
  purpose?: string;
  /** Legal basis code, e.g. `consent` or `pipl-13-1-2`. */
  legalBasis?: string;
  /** 32 bytes, hex: a commitment to the member's case reference (salted hash kept by the member). */
  caseCommitment?: string;
  /** 32-byte commitments to subject tags (hex), at most 64; larger batches use subjectTagsRoot. */
  subjectTagCommitments?: string[];
  /** RFC 9162 Merkle root (hex) over the batch's subject-tag commitments, and how many there are. */
  subjectTagsRoot?: { root: string; count: number };
  /** Consent record references (hex, 1–64 bytes each), at most 64; larger sets use consentRefsRoot. */
  consentRefs?: string[];
  /** RFC 9162 root over the consent references (each a leaf) and their count. */
  consentRefsRoot?: { root: string; count: number };
  inputSize?: number;
  outputCount?: number;
  decision?: "allow" | "deny";
  /** Error code of a refusal, e.g. `MEMBER_SUSPENDED`. */
  decisionReason?: string;
  /** Policy rule ids that decided, e.g. `consent.required`. */
  ruleIds?: string[];
  /** 32 bytes, hex. */
  requestHash?: string;
  /** 32 bytes, hex. */
  responseHash?: string;
  softwareVersion?: string;
  /** Poseidon root (32 bytes, hex, a BN254 field element) of a member's consent commitments, and how many. */
  consentRoot?: { root: string; count: number };
  /** SHA-256 (hex) of the Groth16 verification key the consent root is to be proved against. */
  zkVkeyHash?: string;
  /** SHA-256 (hex) of the consent-membership proofs a query carried (packages/zk `proofsCommitment`). */
  consentProofsHash?: string;
  /**
   * 16 bytes, hex: the per-leaf random nonce of keyed subject-tag commitments (ADR 0040). Present exactly when
   * the leaf's commitments are keyed (v2); leaves without it carry the unkeyed v1 commitments.
   */
  subjectNonce?: string;
  /** Fields this version does not know (non-critical tags), kept so the leaf round-trips. */
  unknownFields?: { tag: number; value: string }[];
}

export class LeafError extends Error {
  override readonly name = "LeafError";
}

const CODE_RE = /^[a-z0-9][a-z0-9._:,-]{0,63}$/;
const REASON_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Table-driven hex both ways: a leaf carries up to ~70 hex fields and is decoded, then re-encoded, on every
// receipt verification; `parseInt` per byte and `padStart`/`join` per byte were ≈ 1/3 of a receipt check.
const HEX_DIGITS = "0123456789abcdef";
/** Lower-case hex digit values by char code; -1 elsewhere (upper case included: the encoding is lower case). */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE[HEX_DIGITS.charCodeAt(i)] = i;

function fromHex(field: string, text: string, len?: number): Uint8Array {
  const n = text.length >> 1;
  if (text.length === 0 || (text.length & 1) !== 0) throw new LeafError(`${field}: lower-case hex expected`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const hi = text.charCodeAt(2 * i);
    const lo = text.charCodeAt(2 * i + 1);
    const h = hi < 128 ? HEX_VALUE[hi]! : -1;
    const l = lo < 128 ? HEX_VALUE[lo]! : -1;
    if ((h | l) < 0) throw new LeafError(`${field}: lower-case hex expected`);
    out[i] = (h << 4) | l;
  }
  if (len !== undefined && out.length !== len) throw new LeafError(`${field}: ${len} bytes expected`);
  return out;
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function code(field: string, s: string, re = CODE_RE): Uint8Array {
  if (!re.test(s)) throw new LeafError(`${field}: not a valid code (${re.source})`);
  return ascii(s);
}

function u64(field: string, n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new LeafError(`${field}: a non-negative safe integer expected`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function list(field: string, items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 0) throw new LeafError(`${field}: omit the field rather than send an empty list`);
  if (items.length > MAX_LIST_ITEMS) throw new LeafError(`${field}: at most ${MAX_LIST_ITEMS} items`);
  return concat(...items.map((i) => concat(new Uint8Array([i.length]), i)));
}

const TYPE_NAMES = new Map<number, KnownEventType>(
  Object.entries(EVENT_TYPES).map(([name, code]) => [code, name as KnownEventType]),
);
const KNOWN_TAGS: ReadonlySet<number> = new Set(Object.values(FIELD_TAGS));

function typeCode(type: AuditEvent["type"]): number {
  const known = Object.hasOwn(EVENT_TYPES, type) ? (EVENT_TYPES as Record<string, number>)[type] : undefined;
  if (known !== undefined) return known;
  const m = /^0x([0-9a-f]{4})$/.exec(type);
  if (!m) throw new LeafError(`unknown event type '${type}'`);
  const n = Number.parseInt(m[1]!, 16);
  if (TYPE_NAMES.has(n)) throw new LeafError("use the event type's name");
  return n;
}

function typeName(n: number): AuditEvent["type"] {
  return TYPE_NAMES.get(n) ?? `0x${n.toString(16).padStart(4, "0")}`;
}

/** Encodes an event to its canonical leaf bytes. Throws LeafError for any value out of its domain. */
export function encodeAuditEvent(event: AuditEvent): Uint8Array {
  const fields: [number, Uint8Array][] = [];
  const put = (tag: number, value: Uint8Array | undefined): void => {
    if (value !== undefined) fields.push([tag, value]);
  };
  const e = event;
  const T = FIELD_TAGS;
  if (e.member !== undefined) {
    if (!UUID_RE.test(e.member)) throw new LeafError("member: lower-case UUID expected");
    put(T.member, fromHex("member", e.member.replaceAll("-", ""), 16));
  }
  if (e.userPseudonym !== undefined) put(T.userPseudonym, fromHex("userPseudonym", e.userPseudonym, 32));
  if (e.purpose !== undefined) put(T.purpose, code("purpose", e.purpose));
  if (e.legalBasis !== undefined) put(T.legalBasis, code("legalBasis", e.legalBasis));
  if (e.caseCommitment !== undefined) put(T.caseCommitment, fromHex("caseCommitment", e.caseCommitment, 32));
  if (e.subjectTagCommitments !== undefined) {
    const c = e.subjectTagCommitments;
    if (c.length === 0 || c.length > MAX_SUBJECT_COMMITMENTS) {
      throw new LeafError(`subjectTagCommitments: 1 to ${MAX_SUBJECT_COMMITMENTS} items`);
    }
    put(T.subjectTagCommitments, concat(...c.map((h) => fromHex("subjectTagCommitments", h, 32))));
  }
  if (e.subjectTagsRoot !== undefined)
    put(T.subjectTagsRoot, rootField("subjectTagsRoot", e.subjectTagsRoot));
  if (e.consentRefs !== undefined) {
    put(
      T.consentRefs,
      list(
        "consentRefs",
        e.consentRefs.map((r) => {
          const b = fromHex("consentRefs", r);
          if (b.length > 64) throw new LeafError("consentRefs: at most 64 bytes each");
          return b;
        }),
      ),
    );
  }
  if (e.inputSize !== undefined) put(T.inputSize, u64("inputSize", e.inputSize));
  if (e.outputCount !== undefined) put(T.outputCount, u64("outputCount", e.outputCount));
  if (e.decision !== undefined) {
    if (e.decision !== "allow" && e.decision !== "deny") throw new LeafError("decision: allow or deny");
    put(T.decision, new Uint8Array([e.decision === "allow" ? 1 : 2]));
  }
  if (e.ruleIds !== undefined)
    put(
      T.ruleIds,
      list(
        "ruleIds",
        e.ruleIds.map((r) => code("ruleIds", r)),
      ),
    );
  if (e.requestHash !== undefined) put(T.requestHash, fromHex("requestHash", e.requestHash, 32));
  if (e.responseHash !== undefined) put(T.responseHash, fromHex("responseHash", e.responseHash, 32));
  if (e.softwareVersion !== undefined)
    put(T.softwareVersion, code("softwareVersion", e.softwareVersion, VERSION_RE));
  if (e.decisionReason !== undefined)
    put(T.decisionReason, code("decisionReason", e.decisionReason, REASON_RE));
  if (e.consentRefsRoot !== undefined)
    put(T.consentRefsRoot, rootField("consentRefsRoot", e.consentRefsRoot));
  if (e.consentRoot !== undefined) put(T.consentRoot, rootField("consentRoot", e.consentRoot));
  if (e.zkVkeyHash !== undefined) put(T.zkVkeyHash, fromHex("zkVkeyHash", e.zkVkeyHash, 32));
  if (e.consentProofsHash !== undefined)
    put(T.consentProofsHash, fromHex("consentProofsHash", e.consentProofsHash, 32));
  if (e.subjectNonce !== undefined) put(T.subjectNonce, fromHex("subjectNonce", e.subjectNonce, 16));
  for (const u of e.unknownFields ?? []) {
    if (!Number.isInteger(u.tag) || u.tag < 1 || u.tag >= 0x8000 || KNOWN_TAGS.has(u.tag)) {
      throw new LeafError("unknownFields: only non-critical tags this version does not know");
    }
    put(u.tag, u.value === "" ? new Uint8Array(0) : fromHex("unknownFields", u.value));
  }
  fields.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < fields.length; i++) {
    if (fields[i]![0] === fields[i - 1]![0]) throw new LeafError(`duplicate field tag ${fields[i]![0]}`);
  }
  const header = new Uint8Array(15);
  header.set(LEAF_MAGIC, 0);
  header[4] = LEAF_VERSION;
  new DataView(header.buffer).setUint16(5, typeCode(e.type));
  header.set(u64("time", e.time), 7);
  const parts: Uint8Array[] = [header];
  for (const [tag, value] of fields) {
    if (value.length > 0xffff) throw new LeafError(`field ${tag} too long`);
    const tl = new Uint8Array(4);
    new DataView(tl.buffer).setUint16(0, tag);
    new DataView(tl.buffer).setUint16(2, value.length);
    parts.push(tl, value);
  }
  const out = concat(...parts);
  if (out.length > MAX_LEAF_BYTES) throw new LeafError("leaf too large");
  return out;
}

function readList(field: string, v: Uint8Array): Uint8Array[] {
  const items: Uint8Array[] = [];
  let o = 0;
  while (o < v.length) {
    const n = v[o]!;
    if (o + 1 + n > v.length) throw new LeafError(`${field}: truncated item`);
    items.push(v.slice(o + 1, o + 1 + n));
    o += 1 + n;
  }
  return items;
}

function text(field: string, v: Uint8Array, re = CODE_RE): string {
  const s = String.fromCharCode(...v);
  if (!re.test(s)) throw new LeafError(`${field}: invalid code`);
  return s;
}

function fixed(field: string, v: Uint8Array, len: number): Uint8Array {
  if (v.length !== len) throw new LeafError(`${field}: ${len} bytes expected, got ${v.length}`);
  return v;
}

function readU64(field: string, v: Uint8Array): number {
  const n = new DataView(fixed(field, v, 8).buffer, v.byteOffset, 8).getBigUint64(0);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new LeafError(`${field}: exceeds 2^53-1`);
  return Number(n);
}

/** Decodes leaf bytes, strictly: any trailing, missing, reordered or non-canonical byte throws LeafError. */
export function decodeAuditEvent(unverifiedLeaf: Uint8Array): AuditEvent {
  const b = unverifiedLeaf;
  if (b.length > MAX_LEAF_BYTES) throw new LeafError("leaf too large");
  if (b.length < 15 || !bytesEqual(b.slice(0, 4), LEAF_MAGIC))
    throw new LeafError("not an audit leaf (magic)");
  if (b[4] !== LEAF_VERSION) throw new LeafError(`unsupported leaf version ${b[4]}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const event: AuditEvent = { type: typeName(dv.getUint16(5)), time: readU64("time", b.slice(7, 15)) };
  const T = FIELD_TAGS;
  let o = 15;
  let lastTag = -1;
  while (o < b.length) {
    if (o + 4 > b.length) throw new LeafError("truncated field header");
    const tag = dv.getUint16(o);
    const len = dv.getUint16(o + 2);
    if (tag <= lastTag) throw new LeafError("field tags must be strictly increasing");
    lastTag = tag;
    if (o + 4 + len > b.length) throw new LeafError(`field ${tag}: truncated value`);
    const v = b.slice(o + 4, o + 4 + len);
    o += 4 + len;
    switch (tag) {
      case T.member: {
        const h = toHex(fixed("member", v, 16));
        event.member = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
        break;
      }
      case T.userPseudonym:
        event.userPseudonym = toHex(fixed("userPseudonym", v, 32));
        break;
      case T.purpose:
        event.purpose = text("purpose", v);
        break;
      case T.legalBasis:
        event.legalBasis = text("legalBasis", v);
        break;
      case T.caseCommitment:
        event.caseCommitment = toHex(fixed("caseCommitment", v, 32));
        break;
      case T.subjectTagCommitments: {
        if (v.length === 0 || v.length % 32 !== 0) throw new LeafError("subjectTagCommitments: n × 32 bytes");
        const items: string[] = [];
        for (let i = 0; i < v.length; i += 32) items.push(toHex(v.slice(i, i + 32)));
        event.subjectTagCommitments = items;
        break;
      }
      case T.subjectTagsRoot:
        event.subjectTagsRoot = readRootField("subjectTagsRoot", v);
        break;
      case T.consentRefsRoot:
        event.consentRefsRoot = readRootField("consentRefsRoot", v);
        break;
      case T.consentRefs:
        event.consentRefs = readList("consentRefs", v).map(toHex);
        break;
      case T.inputSize:
        event.inputSize = readU64("inputSize", v);
        break;
      case T.outputCount:
        event.outputCount = readU64("outputCount", v);
        break;
      case T.decision: {
        const d = fixed("decision", v, 1)[0];
        if (d !== 1 && d !== 2) throw new LeafError("decision: 1 (allow) or 2 (deny)");
        event.decision = d === 1 ? "allow" : "deny";
        break;
      }
      case T.ruleIds:
        event.ruleIds = readList("ruleIds", v).map((r) => text("ruleIds", r));
        break;
      case T.requestHash:
        event.requestHash = toHex(fixed("requestHash", v, 32));
        break;
      case T.responseHash:
        event.responseHash = toHex(fixed("responseHash", v, 32));
        break;
      case T.softwareVersion:
        event.softwareVersion = text("softwareVersion", v, VERSION_RE);
        break;
      case T.decisionReason:
        event.decisionReason = text("decisionReason", v, REASON_RE);
        break;
      case T.consentRoot:
        event.consentRoot = readRootField("consentRoot", v);
        break;
      case T.zkVkeyHash:
        event.zkVkeyHash = toHex(fixed("zkVkeyHash", v, 32));
        break;
      case T.consentProofsHash:
        event.consentProofsHash = toHex(fixed("consentProofsHash", v, 32));
        break;
      case T.subjectNonce:
        event.subjectNonce = toHex(fixed("subjectNonce", v, 16));
        break;
      default:
        if (tag & 0x8000) throw new LeafError(`unknown critical field ${tag}`);
        if (tag === 0) throw new LeafError("field tag 0 is reserved");
        event.unknownFields = [...(event.unknownFields ?? []), { tag, value: toHex(v) }];
    }
  }
  // One encoding per event: whatever the checks above missed, re-encoding must give the same bytes.
  if (!bytesEqual(encodeAuditEvent(event), b)) throw new LeafError("non-canonical leaf encoding");
  return event;
}

/** RFC 9162 root over a batch's items (each a leaf) with their count: `subjectTagsRoot`, `consentRefsRoot`. */
export function batchRoot(items: readonly Uint8Array[]): { root: string; count: number } {
  const tree = new MemoryTree();
  for (const c of items) tree.append(hashLeaf(c));
  return { root: toHex(tree.root()), count: items.length };
}

/** Root over a batch's subject-tag commitments, for `subjectTagsRoot`. */
export const subjectTagsRoot = batchRoot;

/** A root field: 32-byte root ‖ uint32 count ≥ 1. */
function rootField(field: string, r: { root: string; count: number }): Uint8Array {
  if (!Number.isInteger(r.count) || r.count < 1 || r.count > 0xffffffff) {
    throw new LeafError(`${field}.count: 1 to 2^32-1`);
  }
  const c = new Uint8Array(4);
  new DataView(c.buffer).setUint32(0, r.count);
  return concat(fromHex(`${field}.root`, r.root, 32), c);
}

function readRootField(field: string, v: Uint8Array): { root: string; count: number } {
  if (v.length !== 36) throw new LeafError(`${field}: expected 36 bytes`);
  return { root: toHex(v.slice(0, 32)), count: new DataView(v.buffer, v.byteOffset + 32, 4).getUint32(0) };
}
