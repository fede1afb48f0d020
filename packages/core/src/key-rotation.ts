/**
 * Request-signing key rotation (ADR 0068). The member authenticates with its current key (the request's
 * signature, checked by `authenticateMemberRequest`); the new key proves possession over the protocol's
 * key-rotation statement. In one transaction the old key is revoked (reason 'rotated'), the new key becomes
 * the member's active request-signing key and an audit leaf records it. No grace period: from the commit on,
 * the hub refuses the old key (the ADR says why); key holders within about a second (their directory long poll,
 * ADR 0038).
 */
import {
  ConflictError,
  findKeyByFingerprint,
  insertMemberKey,
  lockMemberForKeyChange,
  type Member,
  type MemberKey,
  NotFoundError,
  revokeMemberKey,
} from "@relink/db";
import {
  bytesEqual,
  isUsableEd25519PublicKey,
  KEY_ROTATION_DST,
  type KeyRotationDst,
  keyFingerprint,
  MAX_CLOCK_SKEW_MS,
  NONCE_BYTES,
  RelinkError,
  type RotateKeyInput,
  tryBase64Url,
  verifyKeyPossession,
} from "@relink/protocol";
import type { AuthenticatedMember } from "./auth.ts";
import type { CoreDeps } from "./context.ts";
import { requireActive } from "./denials.ts";

export interface RotatedKey {
  memberId: string;
  oldKey: MemberKey;
  newKey: MemberKey;
  receipt: unknown;
}

/**
 * The new key and nonce of a rotation or re-key statement (ADRs 0068, 0037), decoded and checked: a key that
 * is not a usable Ed25519 point is BAD_INPUT `newPublicKey`, a nonce of the wrong size BAD_INPUT `nonce`.
 */
export function parseNewKey(input: { newPublicKey: string; nonce: string }): {
  newPublicKey: Uint8Array;
  nonce: Uint8Array;
} {
  const newPublicKey = tryBase64Url(input.newPublicKey);
  if (!newPublicKey || !isUsableEd25519PublicKey(newPublicKey)) {
    throw new RelinkError(
      "BAD_INPUT",
      "newPublicKey is not a valid Ed25519 public key (32 bytes base64url)",
      {
        field: "newPublicKey",
      },
    );
  }
  const nonce = tryBase64Url(input.nonce);
  if (nonce?.length !== NONCE_BYTES) {
    throw new RelinkError("BAD_INPUT", `nonce must be ${NONCE_BYTES} bytes base64url`, { field: "nonce" });
  }
  return { newPublicKey, nonce };
}

export async function rotateMemberKey(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: RotateKeyInput,
): Promise<RotatedKey> {
  // A suspended member keeps its keys as they are: rotation is not a way around a suspension.
  await requireActive(deps, who);
  if (who.key.purpose !== "request_signing") {
    throw new RelinkError("FORBIDDEN", "only a request-signing key can be rotated this way");
  }
  return rotateKey(
    deps,
    {
      member: who.member,
      oldKey: who.key,
      requestHash: who.requestHash,
      dst: KEY_ROTATION_DST,
      rule: "member.rotate_key",
    },
    input,
  );
}

/**
 * Replaces `oldKey` (the key that signed the request) by the input's new key of the same purpose: the checks
 * and the one transaction shared by the request-signing key (ADR 0068) and a member DPO's key (ADR 0037),
 * whose statements differ only in their domain string `dst`.
 */
export async function rotateKey(
  deps: CoreDeps,
  o: { member: Member; oldKey: MemberKey; requestHash: Uint8Array; dst: KeyRotationDst; rule: string },
  input: RotateKeyInput,
): Promise<RotatedKey> {
  const at = deps.clock();
  const { newPublicKey, nonce } = parseNewKey(input);
  const proof = tryBase64Url(input.proof);
  if (Math.abs(at.getTime() - input.timestampMs) > MAX_CLOCK_SKEW_MS) {
    throw new RelinkError(
      "STALE_REQUEST",
      `the rotation statement's timestamp is more than ${MAX_CLOCK_SKEW_MS / 1000} s from the hub's clock`,
      { field: "timestampMs" },
    );
  }
  const newFingerprint = keyFingerprint("ed25519", newPublicKey);
  if (
    bytesEqual(newFingerprint, o.oldKey.fingerprint) ||
    (await findKeyByFingerprint(deps.db, newFingerprint))
  ) {
    // Fingerprints are unique over all keys ever registered, revoked ones included: a revoked key never returns.
    throw new RelinkError("CONFLICT", "this public key is, or was, registered: rotate to a fresh key", {
      field: "newPublicKey",
    });
  }
  const statement = {
    networkId: deps.policy.networkId,
    memberId: o.member.id,
    oldKeyFingerprint: o.oldKey.fingerprint,
    newPublicKey,
    timestampMs: input.timestampMs,
    nonce,
  };
  if (!proof || !verifyKeyPossession(proof, statement, o.dst)) {
    throw new RelinkError("BAD_INPUT", "the proof of possession does not verify under the new key", {
      field: "proof",
    });
  }

  const done = await deps.db.transaction().execute(async (trx) => {
    // One key change of a member at a time: a re-key by the administrator (ADR 0037) waits for this one.
    await lockMemberForKeyChange(trx, o.member.id);
    let oldKey: MemberKey;
    try {
      oldKey = await revokeMemberKey(trx, o.oldKey.id, at, "rotated");
    } catch (error) {
      // A concurrent rotation (or revocation) got there first: the key that signed this is no longer active.
      if (error instanceof NotFoundError) {
        throw new RelinkError("CONFLICT", "the signing key was revoked meanwhile (already rotated?)");
      }
      throw error;
    }
    let newKey: MemberKey;
    try {
      newKey = await insertMemberKey(trx, {
        memberId: o.member.id,
        purpose: o.oldKey.purpose,
        algorithm: "ed25519",
        publicKey: newPublicKey,
        fingerprint: newFingerprint,
      });
    } catch (error) {
      if (error instanceof ConflictError) {
        throw new RelinkError("CONFLICT", "this public key is, or was, registered: rotate to a fresh key", {
          field: "newPublicKey",
        });
      }
      throw error;
    }
    const audit = await deps.audit.append(
      trx,
      {
        type: "member.key_rotated",
        memberId: o.member.id,
        inputSize: 1,
        outputCount: 1,
        decision: { allowed: true, rules: [o.rule] },
        requestHash: o.requestHash,
        responseHash: newFingerprint,
      },
      at,
    );
    return { oldKey, newKey, audit };
  });
  deps.log.info("member.key_rotated", { member: o.member.slug, purpose: o.oldKey.purpose });
  const receipt = await deps.audit.receipt(done.audit);
  return { memberId: o.member.id, oldKey: done.oldKey, newKey: done.newKey, receipt };
}
