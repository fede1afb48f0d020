/**
 * Request authentication (threat T7: replayed or forged member requests). Each attack is tried against
 * the real verifier on both backends and must fail with its typed code; requests are signed exactly as
 * the SDK signs them. The nonce must survive forgeries: a request that fails any check never records it.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { insertMemberKey, listActiveKeys, revokeMemberKey } from "@relink/db";
import {
  fromBase64Url,
  hubAudience,
  keyFingerprint,
  keyHolderAudience,
  MAX_CLOCK_SKEW_MS,
  requestSigningMessage,
  SIGNATURE_HEADERS,
  toBase64Url,
} from "@relink/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { authenticateAdminRequest, authenticateMemberRequest } from "../src/auth.ts";
import {
  createTestCore,
  describeEachBackend,
  expectCode,
  onboardTestMember,
  type SignedRequest,
  seededBytes,
  signRequest,
  TEST_NETWORK_ID,
  type TestCore,
  type TestMember,
  unverifiedRequest,
} from "../src/testing.ts";

const PATH = "/trpc/lookup.run";
const BODY = '{"epoch":1,"purpose":"debt_collection"}';
/** The four required signature headers (the audience header is informational). */
const { audience: _audience, ...H } = SIGNATURE_HEADERS;

function flipBit(bytes: Uint8Array, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

function flipHeaderBit(value: string, bit = 0): string {
  return toBase64Url(flipBit(fromBase64Url(value), bit));
}

function withHeaders(r: SignedRequest, headers: Record<string, string | undefined>): SignedRequest {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...r.headers, ...headers })) if (v !== undefined) merged[k] = v;
  return { ...r, headers: merged };
}

describeEachBackend("request authentication", ({ db }) => {
  let core: TestCore;
  let alice: TestMember;
  let bob: TestMember;
  const adminSecret = seededBytes(77)(32);
  let adminPublic: Uint8Array;

  const auth = (r: SignedRequest) => authenticateMemberRequest(core.deps, unverifiedRequest(r));
  const signed = (over: { body?: string; path?: string; method?: string; timestampMs?: number } = {}) =>
    signRequest(alice.secretKey, {
      method: over.method ?? "POST",
      path: over.path ?? PATH,
      body: over.body ?? BODY,
      timestampMs: over.timestampMs ?? core.clock().getTime(),
    });

  beforeAll(async () => {
    core = createTestCore(db());
    alice = await onboardTestMember(core, { slug: "alice-bank" });
    bob = await onboardTestMember(core, { slug: "bob-finance" });
    const { ed25519 } = await import("@noble/curves/ed25519.js");
    adminPublic = ed25519.getPublicKey(adminSecret);
  });

  it("accepts a valid signature and binds the request hash to exactly what was signed", async () => {
    const r = signed();
    const who = await auth(r);
    expect(who.member.slug).toBe("alice-bank");
    expect(who.key.purpose).toBe("request_signing");
    const message = requestSigningMessage({
      audience: hubAudience(TEST_NETWORK_ID),
      method: "POST",
      path: PATH,
      bodySha256: sha256(new TextEncoder().encode(BODY)),
      timestampMs: Number(r.headers[H.timestamp]),
      nonce: fromBase64Url(r.headers[H.nonce]!),
      keyFingerprint: keyFingerprint("ed25519", alice.publicKey),
    });
    expect(who.requestHash).toEqual(sha256(message));
  });

  it("accepts timestamps exactly at the skew limit, both ways", async () => {
    const now = core.clock().getTime();
    await expect(auth(signed({ timestampMs: now - MAX_CLOCK_SKEW_MS }))).resolves.toBeDefined();
    await expect(auth(signed({ timestampMs: now + MAX_CLOCK_SKEW_MS }))).resolves.toBeDefined();
  });

  it("refuses a request signed for a key holder or another network's hub (audience bound), header or not", async () => {
    for (const audience of [keyHolderAudience(TEST_NETWORK_ID, 1), hubAudience("other-network")]) {
      const r = signRequest(alice.secretKey, {
        audience,
        method: "POST",
        path: PATH,
        body: BODY,
        timestampMs: core.clock().getTime(),
      });
      const e = await expectCode(auth(r), "BAD_SIGNATURE");
      expect(e.message).toContain(`signed for ${audience}`);
      await expectCode(auth(withHeaders(r, { [SIGNATURE_HEADERS.audience]: undefined })), "BAD_SIGNATURE");
      // Claiming this hub's audience in the header does not help: the signature covers the real one.
      await expectCode(
        auth(withHeaders(r, { [SIGNATURE_HEADERS.audience]: hubAudience(TEST_NETWORK_ID) })),
        "BAD_SIGNATURE",
      );
    }
  });

  it("refuses a request missing any of the four headers", async () => {
    for (const name of Object.values(H)) {
      const e = await expectCode(auth(withHeaders(signed(), { [name]: undefined })), "BAD_SIGNATURE");
      expect(e.message).toContain(name);
    }
  });

  it("refuses malformed base64url and wrong lengths in the key, nonce and signature headers", async () => {
    const r = signed();
    const cases: Record<string, string>[] = [];
    for (const name of [H.key, H.nonce, H.signature]) {
      const value = r.headers[name]!;
      const bytes = fromBase64Url(value);
      cases.push(
        { [name]: `${value}=` }, // padded
        { [name]: value.replace(/.$/, "+") }, // not base64url
        { [name]: `${value.slice(0, -1)}/` },
        { [name]: toBase64Url(bytes.slice(0, -1)) }, // one byte short
        { [name]: toBase64Url(new Uint8Array([...bytes, 0])) }, // one byte long
        { [name]: "" },
        { [name]: ` ${value}` },
      );
    }
    // Non-canonical: same bytes, but the unused low bits of the last character set.
    const nonce = r.headers[H.nonce]!; // 16 bytes → 22 chars, the last carries 4 unused bits
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(nonce.at(-1)!);
    cases.push({ [H.nonce]: nonce.slice(0, -1) + alphabet[last ^ 1] });
    for (const headers of cases) {
      await expectCode(auth(withHeaders(r, headers)), "BAD_SIGNATURE");
    }
    // None of those recorded the nonce: the untouched request still goes through.
    await expect(auth(r)).resolves.toBeDefined();
  });

  it("refuses timestamps that are not plain decimal milliseconds", async () => {
    const ts = String(core.clock().getTime());
    for (const bad of [
      `${ts}.0`,
      `+${ts}`,
      `-${ts}`,
      `${ts} `,
      "1.7e12",
      `0x${Number(ts).toString(16)}`,
      "9".repeat(16),
      "",
    ]) {
      await expectCode(auth(withHeaders(signed(), { [H.timestamp]: bad })), "BAD_SIGNATURE");
    }
  });

  it("refuses a signature with one flipped bit, and a valid signature over any other field", async () => {
    const r = signed();
    for (const bit of [0, 7, 255, 256, 511]) {
      await expectCode(
        auth(withHeaders(r, { [H.signature]: flipHeaderBit(r.headers[H.signature]!, bit) })),
        "BAD_SIGNATURE",
      );
    }
    await expectCode(auth({ ...r, body: flipBit(r.body, 3) }), "BAD_SIGNATURE");
    await expectCode(auth({ ...r, body: new Uint8Array([...r.body, 0x20]) }), "BAD_SIGNATURE");
    await expectCode(auth({ ...r, path: "/trpc/lookup.ruo" }), "BAD_SIGNATURE");
    await expectCode(auth({ ...r, path: `${PATH}?x=1` }), "BAD_SIGNATURE");
    await expectCode(auth({ ...r, method: "PUT" }), "BAD_SIGNATURE");
    await expectCode(
      auth(withHeaders(r, { [H.timestamp]: String(Number(r.headers[H.timestamp]) + 1) })),
      "BAD_SIGNATURE",
    );
    await expectCode(
      auth(withHeaders(r, { [H.nonce]: flipHeaderBit(r.headers[H.nonce]!, 9) })),
      "BAD_SIGNATURE",
    );
    // Alice's signature presented under Bob's key.
    await expectCode(
      auth(withHeaders(r, { [H.key]: toBase64Url(keyFingerprint("ed25519", bob.publicKey)) })),
      "BAD_SIGNATURE",
    );
    // After all of that, the genuine request (same nonce) is still accepted once.
    await expect(auth(r)).resolves.toBeDefined();
    await expectCode(auth(r), "REPLAYED_REQUEST");
  });

  it("method case is normalised before signing, so a lower-case method verifies", async () => {
    await expect(auth(signed({ method: "post" }))).resolves.toBeDefined();
  });

  it("refuses stale timestamps beyond the skew, both directions, without recording the nonce", async () => {
    const now = core.clock().getTime();
    const past = signed({ timestampMs: now - MAX_CLOCK_SKEW_MS - 1 });
    const future = signed({ timestampMs: now + MAX_CLOCK_SKEW_MS + 1 });
    await expectCode(auth(past), "STALE_REQUEST");
    await expectCode(auth(future), "STALE_REQUEST");
    // The hub's clock catches up with the future request: it is now fresh, and its nonce unused.
    core.clock.advance(2);
    try {
      await expect(auth(future)).resolves.toBeDefined();
    } finally {
      core.clock.advance(-2);
    }
  });

  it("refuses an unknown key", async () => {
    const stranger = signRequest(seededBytes(4242)(32), {
      method: "POST",
      path: PATH,
      body: BODY,
      timestampMs: core.clock().getTime(),
    });
    await expectCode(auth(stranger), "UNKNOWN_KEY");
  });

  it("refuses a member's ed25519 key registered for another purpose (witness)", async () => {
    const secret = seededBytes(999)(32);
    const { ed25519 } = await import("@noble/curves/ed25519.js");
    const pub = ed25519.getPublicKey(secret);
    const who = await bob.authenticate();
    await insertMemberKey(db(), {
      memberId: who.member.id,
      purpose: "witness",
      algorithm: "ed25519",
      publicKey: pub,
      fingerprint: keyFingerprint("ed25519", pub),
    });
    const r = signRequest(secret, {
      method: "POST",
      path: PATH,
      body: BODY,
      timestampMs: core.clock().getTime(),
    });
    await expectCode(auth(r), "UNKNOWN_KEY");
  });

  it("refuses a revoked key, even with a request signed before the revocation", async () => {
    const carol = await onboardTestMember(core, { slug: "carol-credit" });
    const before = carol.sign("POST", PATH, BODY);
    const who = await carol.authenticate();
    const [key] = await listActiveKeys(db(), who.member.id, "request_signing");
    await revokeMemberKey(db(), key!.id, core.clock());
    await expectCode(auth(before), "UNKNOWN_KEY");
    await expectCode(auth(carol.sign("POST", PATH, BODY)), "UNKNOWN_KEY");
  });

  it("refuses a replayed nonce, also under a fresh valid signature over other content", async () => {
    const r = signed();
    await auth(r);
    await expectCode(auth(r), "REPLAYED_REQUEST");
    const nonce = fromBase64Url(r.headers[H.nonce]!);
    const again = signRequest(alice.secretKey, {
      method: "POST",
      path: "/trpc/directory.publish",
      body: "{}",
      timestampMs: core.clock().getTime() + 1,
      nonce,
    });
    await expectCode(auth(again), "REPLAYED_REQUEST");
    // Nonces are per key: Bob may use the same 16 bytes.
    const bobs = signRequest(bob.secretKey, {
      method: "POST",
      path: PATH,
      body: BODY,
      timestampMs: core.clock().getTime(),
      nonce,
    });
    await expect(auth(bobs)).resolves.toBeDefined();
  });

  it("does not let a forger burn a nonce: a bad signature first, then the genuine request succeeds", async () => {
    const genuine = signed();
    const forged = withHeaders(genuine, { [H.signature]: toBase64Url(new Uint8Array(64).fill(1)) });
    await expectCode(auth(forged), "BAD_SIGNATURE");
    await expectCode(auth({ ...genuine, body: new TextEncoder().encode("{}") }), "BAD_SIGNATURE");
    await expect(auth(genuine)).resolves.toBeDefined();
  });

  it("lets exactly one of two simultaneous copies of a request through", async () => {
    const r = signed();
    const outcomes = await Promise.allSettled([auth(r), auth(r), auth(r)]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const o of outcomes.filter((o) => o.status === "rejected")) {
      expect((o as PromiseRejectedResult).reason).toMatchObject({ code: "REPLAYED_REQUEST" });
    }
  });

  it("authenticates a suspended member (the use cases refuse it, with a denial leaf)", async () => {
    const { suspendMember } = await import("../src/members.ts");
    const dave = await onboardTestMember(core, { slug: "dave-debt" });
    await suspendMember(core.deps, "dave-debt", "test");
    const who = await dave.authenticate();
    expect(who.member.status).toBe("suspended");
  });

  describe("administrators", () => {
    const adminAuth = (r: SignedRequest, keys: Uint8Array[]) =>
      authenticateAdminRequest(core.deps, unverifiedRequest(r), keys);
    const adminSigned = (secret = adminSecret) =>
      signRequest(secret, {
        method: "POST",
        path: "/trpc/admin.suspendMember",
        body: '{"slug":"alice-bank","reason":"x"}',
        timestampMs: core.clock().getTime(),
      });

    it("accepts an administrator's key from the list, once", async () => {
      const r = adminSigned();
      const ok = await adminAuth(r, [alice.publicKey, adminPublic]);
      expect(ok.publicKey).toEqual(adminPublic);
      await expectCode(adminAuth(r, [adminPublic]), "REPLAYED_REQUEST");
    });

    it("refuses a key not in the administrator list, member keys included", async () => {
      await expectCode(adminAuth(adminSigned(), []), "UNKNOWN_KEY");
      await expectCode(adminAuth(adminSigned(), [alice.publicKey]), "UNKNOWN_KEY");
      await expectCode(adminAuth(adminSigned(alice.secretKey), [adminPublic]), "UNKNOWN_KEY");
    });

    it("refuses a forged administrator request and keeps its nonce usable", async () => {
      const r = adminSigned();
      const forged = withHeaders(r, { [H.signature]: flipHeaderBit(r.headers[H.signature]!, 100) });
      await expectCode(adminAuth(forged, [adminPublic]), "BAD_SIGNATURE");
      await expectCode(
        adminAuth({ ...r, path: "/trpc/admin.onboardMember" }, [adminPublic]),
        "BAD_SIGNATURE",
      );
      await expect(adminAuth(r, [adminPublic])).resolves.toBeDefined();
    });

    it("refuses a stale administrator request", async () => {
      const r = signRequest(adminSecret, {
        method: "POST",
        path: "/trpc/admin.setQuotas",
        body: "{}",
        timestampMs: core.clock().getTime() - MAX_CLOCK_SKEW_MS - 1,
      });
      await expectCode(adminAuth(r, [adminPublic]), "STALE_REQUEST");
    });
  });
});
