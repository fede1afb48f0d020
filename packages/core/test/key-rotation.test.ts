/**
 * Signing-key rotation (ADR 0068) on both backends, through the real request authentication: the new key
 * becomes the one the hub accepts, the old one is refused at once (no grace period), and each bad input
 * fails with its typed code before anything changes.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  ed25519SignerFor,
  keyFingerprint,
  MAX_CLOCK_SKEW_MS,
  proveKeyPossession,
  type RelinkError,
  type RotateKeyInput,
  rotateKeyRequest,
  toBase64Url,
} from "@relink/protocol";
import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { authenticateMemberRequest } from "../src/auth.ts";
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

let seed = 7000;

describeEachBackend("signing-key rotation", ({ db }) => {
  let core: TestCore;
  let m: TestMember;

  beforeEach(async () => {
    core = createTestCore(db());
    m = await onboardTestMember(core, { slug: `rot-${seed}` });
  });

  /** A rotation input for `newSecret`, proved for the member's current key unless `over` says otherwise. */
  async function inputFor(
    newSecret: Uint8Array,
    over: Partial<{
      memberId: string;
      oldFingerprint: Uint8Array;
      networkId: string;
      timestampMs: number;
    }> = {},
  ): Promise<RotateKeyInput> {
    const who = await m.authenticate();
    const signer = ed25519SignerFor(newSecret);
    const timestampMs = over.timestampMs ?? core.clock().getTime();
    const nonce = seededBytes(seed++)(16);
    const statement = {
      networkId: over.networkId ?? core.deps.policy.networkId,
      memberId: over.memberId ?? who.member.id,
      oldKeyFingerprint: over.oldFingerprint ?? who.key.fingerprint,
      newPublicKey: signer.publicKey,
      timestampMs,
      nonce,
    };
    return rotateKeyRequest(statement, proveKeyPossession(signer, statement));
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

  it("makes the new key active, revokes the old one ('rotated') and logs one leaf, in one transaction", async () => {
    const newSecret = seededBytes(seed++)(32);
    const before = await storedAuditEvents(db());
    const r = await rotateMemberKey(core.deps, await m.authenticate(), await inputFor(newSecret));
    expect(r.oldKey.revokedReason).toBe("rotated");
    expect(r.oldKey.revokedAt).toEqual(core.clock());
    expect(r.newKey.revokedAt).toBeNull();
    expect(r.newKey.publicKey).toEqual(ed25519.getPublicKey(newSecret));
    expect(r.receipt).toBeTruthy();

    // The hub now accepts the new key and refuses the old one at once.
    const who = await authWith(newSecret);
    expect(who.member.id).toBe(r.memberId);
    await expectCode(authWith(m.secretKey), "UNKNOWN_KEY");

    const leaves = (await storedAuditEvents(db())).slice(before.length);
    expect(leaves.map((l) => l.event.type)).toEqual(["member.key_rotated"]);
    const e = leaves[0]!.event;
    expect(e.member).toBe(r.memberId);
    expect(e.responseHash).toBe(Buffer.from(keyFingerprint("ed25519", r.newKey.publicKey)).toString("hex"));
    expect(e.requestHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a proof of possession that does not verify, and changes nothing", async () => {
    const newSecret = seededBytes(seed++)(32);
    const good = await inputFor(newSecret);
    const other = await m.authenticate();
    const cases: RotateKeyInput[] = [
      // signed by a different key than the one offered
      { ...good, proof: (await inputFor(seededBytes(seed++)(32))).proof },
      // statement for another member, another network, another old key
      await inputFor(newSecret, { memberId: "00000000-0000-4000-8000-000000000000" }),
      await inputFor(newSecret, { networkId: "another.network" }),
      await inputFor(newSecret, { oldFingerprint: keyFingerprint("ed25519", seededBytes(seed++)(32)) }),
      // statement fields swapped after signing
      { ...good, nonce: toBase64Url(seededBytes(seed++)(16)) },
      { ...good, timestampMs: good.timestampMs + 1 },
      // not a signature at all
      { ...good, proof: "AAAA" },
    ];
    for (const input of cases) {
      await expectCode(rotateMemberKey(core.deps, other, input), "BAD_INPUT", "proof");
    }
    expect((await authWith(m.secretKey)).member.id).toBe(other.member.id);
    await expectCode(authWith(newSecret), "UNKNOWN_KEY");
  });

  it("refuses the current key, a revoked key and another member's key", async () => {
    // current key
    const same = await inputFor(m.secretKey);
    await expectCode(rotateMemberKey(core.deps, await m.authenticate(), same), "CONFLICT", "newPublicKey");
    // another member's active key
    const other = await onboardTestMember(core, { slug: `rot-other-${seed++}` });
    await expectCode(
      rotateMemberKey(core.deps, await m.authenticate(), await inputFor(other.secretKey)),
      "CONFLICT",
      "newPublicKey",
    );
    // a key of ours revoked by an earlier rotation: rotate A → B, then B → A
    const oldSecret = m.secretKey;
    const b = seededBytes(seed++)(32);
    await rotateMemberKey(core.deps, await m.authenticate(), await inputFor(b));
    m = { ...m, secretKey: b, authenticate: () => authWith(b) };
    await expectCode(
      rotateMemberKey(core.deps, await m.authenticate(), await inputFor(oldSecret)),
      "CONFLICT",
      "newPublicKey",
    );
    expect((await authWith(b)).member.slug).toBe(m.slug);
  });

  it("refuses a malformed key: wrong length, not base64url, off the curve, small order", async () => {
    const good = await inputFor(seededBytes(seed++)(32));
    const notOnCurve = new Uint8Array(32).fill(0xff); // y ≥ p: not a canonical encoding
    const smallOrder = new Uint8Array(32); // (0, 1)'s neighbour: y = 0 → a point of order 4
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral element (0, 1)
    for (const newPublicKey of [
      toBase64Url(new Uint8Array(31)),
      toBase64Url(new Uint8Array(33)),
      "not base64url!",
      toBase64Url(notOnCurve),
      toBase64Url(smallOrder),
      toBase64Url(identity),
    ]) {
      await expectCode(
        rotateMemberKey(core.deps, await m.authenticate(), { ...good, newPublicKey }),
        "BAD_INPUT",
        "newPublicKey",
      );
    }
  });

  it("refuses a stale statement and a suspended member", async () => {
    const stale = await inputFor(seededBytes(seed++)(32), {
      timestampMs: core.clock().getTime() - MAX_CLOCK_SKEW_MS - 1,
    });
    await expectCode(
      rotateMemberKey(core.deps, await m.authenticate(), stale),
      "STALE_REQUEST",
      "timestampMs",
    );

    const input = await inputFor(seededBytes(seed++)(32));
    await suspendMember(core.deps, m.slug, "test");
    await expectCode(rotateMemberKey(core.deps, await m.authenticate(), input), "MEMBER_SUSPENDED");
    // still the old key
    expect((await authWith(m.secretKey)).member.status).toBe("suspended");
  });

  it("lets only one of two concurrent rotations of the same key win", async () => {
    const who1 = await m.authenticate();
    const who2 = await m.authenticate();
    const in1 = await inputFor(seededBytes(seed++)(32));
    const in2 = await inputFor(seededBytes(seed++)(32));
    const results = await Promise.allSettled([
      rotateMemberKey(core.deps, who1, in1),
      rotateMemberKey(core.deps, who2, in2),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((failed.reason as RelinkError).code).toBe("CONFLICT");
    const { rows } = await sql<{ n: number }>`
      select count(*)::int4 as n from member_key k join member m on m.id = k.member_id
      where m.slug = ${m.slug} and k.revoked_at is null and k.purpose = 'request_signing'`.execute(db());
    expect(rows[0]!.n).toBe(1);
  });
});
