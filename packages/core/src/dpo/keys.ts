/** DPO keys of members (registration, rotation), and a member DPO's own audit commitment key (ADRs 0040, 0041, 0037). */
import { findMemberBySlug, insertMemberKey, type MemberKey } from "@relink/db";
import {
  DPO_KEY_ROTATION_DST,
  fromBase64Url,
  keyFingerprint,
  RelinkError,
  type RotateKeyInput,
  toBase64Url,
} from "@relink/protocol";
import type { CoreDeps } from "../context.ts";
import { type RotatedKey, rotateKey } from "../key-rotation.ts";
import type { DpoPrincipal } from "./access.ts";

/** Registers an Ed25519 key with which the member's DPO signs DPO requests (network admin only). */
export async function registerDpoKey(
  deps: CoreDeps,
  slug: string,
  publicKeyB64: string,
): Promise<{ memberId: string; key: MemberKey }> {
  const member = await findMemberBySlug(deps.db, slug);
  if (!member) throw new RelinkError("NOT_FOUND", `no member '${slug}'`);
  const publicKey = fromBase64Url(publicKeyB64);
  const key = await insertMemberKey(deps.db, {
    memberId: member.id,
    purpose: "dpo",
    algorithm: "ed25519",
    publicKey,
    fingerprint: keyFingerprint("ed25519", publicKey),
  });
  deps.log.info("dpo.key_registered", { member: member.slug });
  return { memberId: member.id, key };
}

/**
 * The member's audit commitment key, so its DPO can recompute link keys for its own leaves and check a
 * subject report's evidence without the hub's word (ADR 0040). Member DPOs only.
 */
export function memberCommitmentKeyFor(deps: CoreDeps, who: DpoPrincipal): { memberId: string; key: string } {
  if (who.scope !== "member") {
    throw new RelinkError("FORBIDDEN", "only a member's DPO receives its member's commitment key");
  }
  return { memberId: who.member.id, key: toBase64Url(deps.audit.memberKey(who.member.id)) };
}

/**
 * A member DPO replaces its own key (ADR 0037): signed with the current DPO key, the new key's proof of
 * possession over the key-rotation statement under its own domain string (`relink/v1/dpo-key-rotation`).
 * One transaction as a request-signing rotation (ADR 0068): old key revoked ('rotated'), new DPO key, a
 * `member.key_rotated` leaf with rule `dpo.rotate_key`. A suspended member's DPO may rotate: its duties to data
 * subjects go on. A network DPO's key lives in the hub's network config and is replaced there.
 */
export async function rotateDpoKey(
  deps: CoreDeps,
  who: DpoPrincipal,
  input: RotateKeyInput,
): Promise<RotatedKey> {
  if (who.scope !== "member") {
    throw new RelinkError(
      "FORBIDDEN",
      "a network DPO key is listed in the hub's network config: it is replaced there, not rotated",
    );
  }
  return rotateKey(
    deps,
    {
      member: who.member,
      oldKey: who.key,
      requestHash: who.requestHash,
      dst: DPO_KEY_ROTATION_DST,
      rule: "dpo.rotate_key",
    },
    input,
  );
}
