/**
 * Re-keying a member that lost its request-signing key (ADR 0037). The network administrator's signed request
 * carries the member's proof file: the new public key, made by the member offline, and its signature over the
 * protocol's re-key statement (network, member slug, new key, timestamp, nonce). In one transaction, with the
 * member's row locked against a concurrent rotation, every active request-signing key of the member is revoked
 * with reason 'lost', the new key is registered and a `member.rekeyed` leaf records it. From the commit on the
 * hub refuses the old keys, and the key holders within about a second (ADR 0038).
 *
 * A suspended member may be re-keyed: the administrator decides, and the member stays suspended.
 */
import {
  ConflictError,
  findKeyByFingerprint,
  findMemberBySlug,
  insertMemberKey,
  lockMemberForKeyChange,
  type MemberKey,
  revokeActiveKeys,
} from "@relink/db";
import {
  keyFingerprint,
  MAX_CLOCK_SKEW_MS,
  REKEY_PROOF_MAX_AGE_MS,
  type RekeyMemberInput,
  RelinkError,
  tryBase64Url,
  verifyRekeyPossession,
} from "@relink/protocol";
import type { CoreDeps } from "./context.ts";
import { parseNewKey } from "./key-rotation.ts";

export interface RekeyedMember {
  memberId: string;
  slug: string;
  revoked: MemberKey[];
  newKey: MemberKey;
  receipt: unknown;
}

const conflict = () =>
  new RelinkError("CONFLICT", "this public key is, or was, registered: the member must make a fresh key", {
    field: "newPublicKey",
  });

export async function rekeyMember(
  deps: CoreDeps,
  admin: { requestHash: Uint8Array },
  input: RekeyMemberInput,
): Promise<RekeyedMember> {
  const at = deps.clock();
  const member = await findMemberBySlug(deps.db, input.slug);
  if (!member) throw new RelinkError("NOT_FOUND", `no member '${input.slug}'`, { field: "slug" });
  const { newPublicKey, nonce } = parseNewKey(input);
  const age = at.getTime() - input.timestampMs;
  if (age > REKEY_PROOF_MAX_AGE_MS || age < -MAX_CLOCK_SKEW_MS) {
    throw new RelinkError(
      "STALE_REQUEST",
      age > 0
        ? `the re-key proof is older than ${REKEY_PROOF_MAX_AGE_MS / 86_400_000} days: the member must make a new one`
        : "the re-key proof is dated in the future (check the member's clock)",
      { field: "timestampMs" },
    );
  }
  const newFingerprint = keyFingerprint("ed25519", newPublicKey);
  if (await findKeyByFingerprint(deps.db, newFingerprint)) throw conflict();
  const proof = tryBase64Url(input.proof);
  const statement = {
    networkId: deps.policy.networkId,
    member: member.slug,
    newPublicKey,
    timestampMs: input.timestampMs,
    nonce,
  };
  if (!proof || !verifyRekeyPossession(proof, statement)) {
    throw new RelinkError(
      "BAD_INPUT",
      "the proof of possession does not verify under the new key for this network and member",
      { field: "proof" },
    );
  }

  const done = await deps.db.transaction().execute(async (trx) => {
    // After the lock, the revocation below sees every key a concurrent rotation committed (a thief holding
    // the lost key and racing the administrator loses its new key too).
    await lockMemberForKeyChange(trx, member.id);
    const revoked = await revokeActiveKeys(trx, member.id, "request_signing", at, "lost");
    let newKey: MemberKey;
    try {
      newKey = await insertMemberKey(trx, {
        memberId: member.id,
        purpose: "request_signing",
        algorithm: "ed25519",
        publicKey: newPublicKey,
        fingerprint: newFingerprint,
      });
    } catch (error) {
      if (error instanceof ConflictError) throw conflict();
      throw error;
    }
    const audit = await deps.audit.append(
      trx,
      {
        type: "member.rekeyed",
        memberId: member.id,
        inputSize: 1,
        outputCount: revoked.length,
        decision: { allowed: true, rules: ["admin.rekey_member"] },
        requestHash: admin.requestHash,
        responseHash: newFingerprint,
      },
      at,
    );
    return { revoked, newKey, audit };
  });
  deps.log.info("member.rekeyed", { member: member.slug, revoked: done.revoked.length });
  const receipt = await deps.audit.receipt(done.audit);
  return { memberId: member.id, slug: member.slug, revoked: done.revoked, newKey: done.newKey, receipt };
}
