/**
 * A member DPO rotates its own key (ADR 0037) on both backends, through the real DPO authentication: the new
 * key signs DPO requests, the old one is refused at once, one `member.key_rotated` leaf (rule
 * `dpo.rotate_key`) records it, and the DPO and request-signing statements cannot stand in for each other.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  DPO_KEY_ROTATION_DST,
  ed25519SignerFor,
  KEY_ROTATION_DST,
  type KeyRotationDst,
  keyFingerprint,
  proveKeyPossession,
  type RotateKeyInput,
  rotateKeyRequest,
  toBase64Url,
} from "@relink/protocol";
import { beforeEach, expect, it } from "vitest";
import { authenticateDpoRequest } from "../src/dpo/access.ts";
import { registerDpoKey, rotateDpoKey } from "../src/dpo/keys.ts";
import { rotateMemberKey } from "../src/key-rotation.ts";
import { suspendMember } from "../src/members.ts";
import { memberKeysAndQuotas } from "../src/portal.ts";
import {
  createTestCore,
  describeEachBackend,
  expectCode,
  onboardTestMember,
  seededBytes,
  signRequest,
  storedAuditEvents,
  type TestCore,
  type TestMember,
  unverifiedRequest,
} from "../src/testing.ts";

let seed = 37_500;
const networkDpo = seededBytes(37_499)(32);

describeEachBackend("member DPO key rotation", ({ db }) => {
  let core: TestCore;
  let m: TestMember;
  let dpo: Uint8Array;
  let memberId: string;

  beforeEach(async () => {
    core = createTestCore(db());
    m = await onboardTestMember(core, { slug: `dpo-rot-${seed++}` });
    dpo = seededBytes(seed++)(32);
    memberId = (await registerDpoKey(core.deps, m.slug, toBase64Url(ed25519.getPublicKey(dpo)))).memberId;
  });

  const dpoAuth = (secret: Uint8Array) =>
    authenticateDpoRequest(
      core.deps,
      unverifiedRequest(
        signRequest(secret, {
          method: "POST",
          path: "/trpc/dpo.rotateKey",
          body: "{}",
          timestampMs: core.clock().getTime(),
        }),
      ),
      [ed25519.getPublicKey(networkDpo)],
    );

  /** A rotation input for `newSecret` replacing `oldSecret`, under `dst`. */
  function inputFor(oldSecret: Uint8Array, newSecret: Uint8Array, dst: KeyRotationDst): RotateKeyInput {
    const signer = ed25519SignerFor(newSecret);
    const statement = {
      networkId: core.deps.policy.networkId,
      memberId,
      oldKeyFingerprint: keyFingerprint("ed25519", ed25519.getPublicKey(oldSecret)),
      newPublicKey: signer.publicKey,
      timestampMs: core.clock().getTime(),
      nonce: seededBytes(seed++)(16),
    };
    return rotateKeyRequest(statement, proveKeyPossession(signer, statement, dst));
  }

  it("makes the new DPO key the one accepted, refuses the old at once, logs one leaf", async () => {
    const next = seededBytes(seed++)(32);
    const before = await storedAuditEvents(db());
    const r = await rotateDpoKey(core.deps, await dpoAuth(dpo), inputFor(dpo, next, DPO_KEY_ROTATION_DST));
    expect(r.newKey.purpose).toBe("dpo");
    expect(r.oldKey.revokedReason).toBe("rotated");
    const who = await dpoAuth(next);
    expect(who.scope === "member" && who.member.id).toBe(memberId);
    await expectCode(dpoAuth(dpo), "UNKNOWN_KEY");
    const leaves = (await storedAuditEvents(db())).slice(before.length);
    expect(leaves.map((l) => [l.event.type, l.event.ruleIds])).toEqual([
      ["member.key_rotated", ["dpo.rotate_key"]],
    ]);
    expect(leaves[0]!.event.responseHash).toBe(Buffer.from(r.newKey.fingerprint).toString("hex"));
    // The member admin's view shows it retired, with its reason; the request-signing key is untouched.
    const view = await memberKeysAndQuotas(core.deps, memberId);
    expect(view.retiredKeys.map((k) => [k.purpose, k.reason])).toEqual([["dpo", "rotated"]]);
    expect(view.keys.map((k) => k.purpose).sort()).toEqual(["dpo", "request_signing"]);
  });

  it("keeps the two statements apart: a request-signing proof does not rotate a DPO key, nor back", async () => {
    const next = seededBytes(seed++)(32);
    await expectCode(
      rotateDpoKey(core.deps, await dpoAuth(dpo), inputFor(dpo, next, KEY_ROTATION_DST)),
      "BAD_INPUT",
      "proof",
    );
    const who = await m.authenticate();
    await expectCode(
      rotateMemberKey(core.deps, who, inputFor(m.secretKey, next, DPO_KEY_ROTATION_DST)),
      "BAD_INPUT",
      "proof",
    );
    expect((await dpoAuth(dpo)).scope).toBe("member");
  });

  it("refuses a network DPO key, a registered key and a stale statement; lets a suspended member's DPO rotate", async () => {
    await expectCode(
      rotateDpoKey(
        core.deps,
        await dpoAuth(networkDpo),
        inputFor(networkDpo, seededBytes(seed++)(32), DPO_KEY_ROTATION_DST),
      ),
      "FORBIDDEN",
    );
    await expectCode(
      rotateDpoKey(core.deps, await dpoAuth(dpo), inputFor(dpo, m.secretKey, DPO_KEY_ROTATION_DST)),
      "CONFLICT",
      "newPublicKey",
    );
    const stale = { ...inputFor(dpo, seededBytes(seed++)(32), DPO_KEY_ROTATION_DST), timestampMs: 0 };
    await expectCode(rotateDpoKey(core.deps, await dpoAuth(dpo), stale), "STALE_REQUEST", "timestampMs");
    await suspendMember(core.deps, m.slug, "test");
    const next = seededBytes(seed++)(32);
    await rotateDpoKey(core.deps, await dpoAuth(dpo), inputFor(dpo, next, DPO_KEY_ROTATION_DST));
    expect((await dpoAuth(next)).scope).toBe("member");
  });
});
