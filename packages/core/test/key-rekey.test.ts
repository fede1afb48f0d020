/**
 * Re-keying a member that lost its request-signing key (ADR 0037) on both backends, through the real request
 * authentication: every active key is revoked ('lost'), the member's offline-made key becomes the one the hub
 * accepts, one `member.rekeyed` leaf records it, and each bad input fails with its typed code, naming the
 * field, before anything changes.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  ed25519SignerFor,
  KEY_ROTATION_DST,
  keyFingerprint,
  lengthPrefixed,
  MAX_CLOCK_SKEW_MS,
  proveKeyPossession,
  proveRekeyPossession,
  REKEY_PROOF_MAX_AGE_MS,
  type RekeyMemberInput,
  rotateKeyRequest,
  toBase64Url,
} from "@relink/protocol";
import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { authenticateMemberRequest } from "../src/auth.ts";
import { rekeyMember } from "../src/key-rekey.ts";
import { rotateMemberKey } from "../src/key-rotation.ts";
import { suspendMember } from "../src/members.ts";
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

let seed = 37_000;
const admin = { requestHash: new Uint8Array(32).fill(0xad) };

describeEachBackend("re-keying a member that lost its key", ({ db }) => {
  let core: TestCore;
  let m: TestMember;

  beforeEach(async () => {
    core = createTestCore(db());
    m = await onboardTestMember(core, { slug: `rekey-${seed++}` });
  });

  /** The member's proof file, as `relink key new --offline` makes it, for `newSecret`. */
  function proofFor(
    newSecret: Uint8Array,
    over: Partial<{ member: string; networkId: string; timestampMs: number }> = {},
  ): RekeyMemberInput {
    const signer = ed25519SignerFor(newSecret);
    const statement = {
      networkId: over.networkId ?? core.deps.policy.networkId,
      member: over.member ?? m.slug,
      newPublicKey: signer.publicKey,
      timestampMs: over.timestampMs ?? core.clock().getTime() - 3 * 86_400_000, // delivered days later
      nonce: seededBytes(seed++)(16),
    };
    const proof = proveRekeyPossession(signer, statement);
    return {
      slug: m.slug,
      newPublicKey: toBase64Url(statement.newPublicKey),
      timestampMs: statement.timestampMs,
      nonce: toBase64Url(statement.nonce),
      proof: toBase64Url(proof),
    };
  }

  const authWith = (secretKey: Uint8Array) =>
    authenticateMemberRequest(
      core.deps,
      unverifiedRequest(
        signRequest(secretKey, {
          method: "POST",
          path: "/trpc/lookup.run",
          body: "{}",
          timestampMs: core.clock().getTime(),
        }),
      ),
    );

  const activeKeys = async (slug: string) =>
    (
      await sql<{ n: number }>`
        select count(*)::int4 as n from member_key k join member m on m.id = k.member_id
        where m.slug = ${slug} and k.revoked_at is null and k.purpose = 'request_signing'`.execute(db())
    ).rows[0]!.n;

  it("revokes every active key ('lost'), registers the member's new key and logs one leaf", async () => {
    const newSecret = seededBytes(seed++)(32);
    const before = await storedAuditEvents(db());
    const r = await rekeyMember(core.deps, admin, proofFor(newSecret));
    expect(r.revoked.map((k) => k.revokedReason)).toEqual(["lost"]);
    expect(r.revoked[0]!.publicKey).toEqual(m.publicKey);
    expect(r.newKey.publicKey).toEqual(ed25519.getPublicKey(newSecret));
    expect(r.receipt).toBeTruthy();
    await expectCode(authWith(m.secretKey), "UNKNOWN_KEY");
    expect((await authWith(newSecret)).member.slug).toBe(m.slug);
    expect(await activeKeys(m.slug)).toBe(1);

    const leaves = (await storedAuditEvents(db())).slice(before.length);
    expect(leaves.map((l) => l.event.type)).toEqual(["member.rekeyed"]);
    const e = leaves[0]!.event;
    expect(e.member).toBe(r.memberId);
    expect(e.requestHash).toBe("ad".repeat(32));
    expect(e.responseHash).toBe(Buffer.from(keyFingerprint("ed25519", r.newKey.publicKey)).toString("hex"));

    // The same proof file a second time: the key is registered now.
    await expectCode(rekeyMember(core.deps, admin, proofFor(newSecret)), "CONFLICT", "newPublicKey");
  });

  it("also revokes a key a thief rotated to with the lost key before the administrator acted", async () => {
    const thief = seededBytes(seed++)(32);
    const thiefSigner = ed25519SignerFor(thief);
    const who = await m.authenticate();
    const statement = {
      networkId: core.deps.policy.networkId,
      memberId: who.member.id,
      oldKeyFingerprint: who.key.fingerprint,
      newPublicKey: thiefSigner.publicKey,
      timestampMs: core.clock().getTime(),
      nonce: seededBytes(seed++)(16),
    };
    await rotateMemberKey(
      core.deps,
      who,
      rotateKeyRequest(statement, proveKeyPossession(thiefSigner, statement)),
    );
    const newSecret = seededBytes(seed++)(32);
    const r = await rekeyMember(core.deps, admin, proofFor(newSecret));
    expect(r.revoked.map((k) => toBase64Url(k.publicKey))).toEqual([toBase64Url(thiefSigner.publicKey)]);
    await expectCode(authWith(thief), "UNKNOWN_KEY");
    await expectCode(authWith(m.secretKey), "UNKNOWN_KEY");
    expect((await authWith(newSecret)).member.slug).toBe(m.slug);
  });

  it("refuses a proof that does not verify, naming the field, and changes nothing", async () => {
    const newSecret = seededBytes(seed++)(32);
    const good = proofFor(newSecret);
    const other = await onboardTestMember(core, { slug: `rekey-other-${seed++}` });
    const cases: RekeyMemberInput[] = [
      // made for another member, another network
      { ...proofFor(newSecret, { member: other.slug }), slug: m.slug },
      proofFor(newSecret, { networkId: "another.network" }),
      // a proof by another key than the one offered
      { ...good, proof: proofFor(seededBytes(seed++)(32)).proof },
      // statement fields changed after signing
      { ...good, nonce: toBase64Url(seededBytes(seed++)(16)) },
      { ...good, timestampMs: good.timestampMs + 1 },
      // submitted for another member than the one it names
      { ...good, slug: other.slug },
      { ...good, proof: "AAAA" },
    ];
    for (const input of cases) await expectCode(rekeyMember(core.deps, admin, input), "BAD_INPUT", "proof");
    // A key-rotation proof (another domain string) by the same key does not pass as a re-key proof.
    const signer = ed25519SignerFor(newSecret);
    const rotationSig = signer.sign(
      lengthPrefixed(
        KEY_ROTATION_DST,
        core.deps.policy.networkId,
        m.slug,
        signer.publicKey,
        String(good.timestampMs),
      ),
    );
    await expectCode(
      rekeyMember(core.deps, admin, { ...good, proof: toBase64Url(rotationSig) }),
      "BAD_INPUT",
      "proof",
    );
    expect((await authWith(m.secretKey)).member.slug).toBe(m.slug);
    await expectCode(authWith(newSecret), "UNKNOWN_KEY");
  });

  it("refuses an old or future-dated proof, a malformed or registered key, an unknown member", async () => {
    const now = core.clock().getTime();
    await expectCode(
      rekeyMember(
        core.deps,
        admin,
        proofFor(seededBytes(seed++)(32), { timestampMs: now - REKEY_PROOF_MAX_AGE_MS - 1 }),
      ),
      "STALE_REQUEST",
      "timestampMs",
    );
    await expectCode(
      rekeyMember(
        core.deps,
        admin,
        proofFor(seededBytes(seed++)(32), { timestampMs: now + MAX_CLOCK_SKEW_MS + 1 }),
      ),
      "STALE_REQUEST",
      "timestampMs",
    );
    const good = proofFor(seededBytes(seed++)(32));
    for (const newPublicKey of [
      toBase64Url(new Uint8Array(31)),
      "not base64url!",
      toBase64Url(new Uint8Array(32)),
    ]) {
      await expectCode(rekeyMember(core.deps, admin, { ...good, newPublicKey }), "BAD_INPUT", "newPublicKey");
    }
    await expectCode(rekeyMember(core.deps, admin, { ...good, nonce: "AAAA" }), "BAD_INPUT", "nonce");
    // the member's own current key, another member's key
    await expectCode(rekeyMember(core.deps, admin, proofFor(m.secretKey)), "CONFLICT", "newPublicKey");
    const other = await onboardTestMember(core, { slug: `rekey-taken-${seed++}` });
    await expectCode(rekeyMember(core.deps, admin, proofFor(other.secretKey)), "CONFLICT", "newPublicKey");
    await expectCode(rekeyMember(core.deps, admin, { ...good, slug: "no-such-member" }), "NOT_FOUND", "slug");
    expect(await activeKeys(m.slug)).toBe(1);
    expect((await authWith(m.secretKey)).member.slug).toBe(m.slug);
  });

  it("re-keys a suspended member, which stays suspended", async () => {
    await suspendMember(core.deps, m.slug, "test");
    const newSecret = seededBytes(seed++)(32);
    await rekeyMember(core.deps, admin, proofFor(newSecret));
    expect((await authWith(newSecret)).member.status).toBe("suspended");
    await expectCode(authWith(m.secretKey), "UNKNOWN_KEY");
  });
});
