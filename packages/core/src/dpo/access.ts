/**
 * Who may read what in the audit ledger (ADR 0040). Checkpoints and proofs (hashes only) are public: a
 * witness needs nothing else. Leaves and receipts name a member, a purpose and a time, so they are read only
 *  - by the member the leaf is about (any of its active request-signing or DPO keys): its own leaves;
 *  - by the network's administrators and DPOs (keys in the hub's network config): every leaf.
 * DPO use cases need a DPO key: a member's (`member_key` purpose 'dpo', its own leaves only) or the
 * network's (`dpoKeys`, every member's leaves).
 * Every request is signed exactly like a member's (protocol signing.ts: method, path, body hash, time,
 * nonce), so the same replay and staleness checks apply.
 */
import { findActiveKeyByFingerprint, findMemberById, type Member, type MemberKey } from "@relink/db";
import {
  bytesEqual,
  keyFingerprint,
  parseSignatureHeaders,
  RelinkError,
  type UnverifiedRequest,
} from "@relink/protocol";
import { authenticateAdminRequest, authenticateMemberRequest } from "../auth.ts";
import type { CoreDeps } from "../context.ts";

export type DpoPrincipal =
  | {
      scope: "member";
      member: Member;
      requestHash: Uint8Array /** The DPO key that signed. */;
      key: MemberKey;
    }
  | { scope: "network"; requestHash: Uint8Array };

/** Network-level keys from the hub's configuration. */
export interface NetworkKeys {
  adminKeys: readonly Uint8Array[];
  dpoKeys: readonly Uint8Array[];
}

function fingerprintOf(req: UnverifiedRequest, nowMs: number): Uint8Array {
  return parseSignatureHeaders(req, nowMs).fingerprint;
}

function isListed(keys: readonly Uint8Array[], fingerprint: Uint8Array): boolean {
  return keys.some((k) => bytesEqual(keyFingerprint("ed25519", k), fingerprint));
}

/** A member DPO key (its member, own leaves) or a network DPO key (all leaves); anything else refused. */
export async function authenticateDpoRequest(
  deps: Pick<CoreDeps, "db" | "clock" | "policy">,
  req: UnverifiedRequest,
  networkDpoKeys: readonly Uint8Array[],
): Promise<DpoPrincipal> {
  const fingerprint = fingerprintOf(req, deps.clock().getTime());
  if (isListed(networkDpoKeys, fingerprint)) {
    const r = await authenticateAdminRequest(deps, req, [...networkDpoKeys]);
    return { scope: "network", requestHash: r.requestHash };
  }
  const key = await findActiveKeyByFingerprint(deps.db, fingerprint);
  if (key?.purpose !== "dpo" || key.algorithm !== "ed25519") {
    throw new RelinkError("UNKNOWN_KEY", "no active DPO key with this fingerprint");
  }
  const member = await findMemberById(deps.db, key.memberId);
  if (!member) throw new RelinkError("UNKNOWN_KEY", "key belongs to no member");
  // The signature and nonce checks are those of every signed request (the key list is this one key).
  const r = await authenticateAdminRequest(deps, req, [key.publicKey]);
  return { scope: "member", member, requestHash: r.requestHash, key };
}

/** Who is reading the ledger: one member (its own leaves) or the network (all leaves). */
export type LedgerReader = { scope: "member"; memberId: string } | { scope: "network" };

/**
 * Authenticates a reader of leaves and receipts: a member's request-signing or DPO key, or a network
 * administrator's or DPO's key. Unsigned or unknown → UNKNOWN_KEY / BAD_SIGNATURE (401).
 */
export async function authenticateLedgerReader(
  deps: Pick<CoreDeps, "db" | "clock" | "policy">,
  req: UnverifiedRequest,
  keys: NetworkKeys,
): Promise<LedgerReader> {
  const fingerprint = fingerprintOf(req, deps.clock().getTime());
  if (isListed([...keys.adminKeys, ...keys.dpoKeys], fingerprint)) {
    await authenticateAdminRequest(deps, req, [...keys.adminKeys, ...keys.dpoKeys]);
    return { scope: "network" };
  }
  const key = await findActiveKeyByFingerprint(deps.db, fingerprint);
  if (key?.purpose === "dpo") {
    const p = await authenticateDpoRequest(deps, req, []);
    return p.scope === "member" ? { scope: "member", memberId: p.member.id } : { scope: "network" };
  }
  const who = await authenticateMemberRequest(deps, req);
  return { scope: "member", memberId: who.member.id };
}

/** Whether `reader` may see a leaf of `leafMember` (undefined: a network event such as a purge). */
export function mayRead(reader: LedgerReader, leafMember: string | undefined): boolean {
  return reader.scope === "network" || (leafMember !== undefined && leafMember === reader.memberId);
}

/** The member ids a DPO's searches cover (`undefined`: every member and the network's own leaves). */
export function scopeOf(p: DpoPrincipal): string | undefined {
  return p.scope === "member" ? p.member.id : undefined;
}
