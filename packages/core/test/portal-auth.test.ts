/**
 * Portal sign-in: scrypt and TOTP against the RFCs' vectors; lockout, TOTP replay and disabled users on
 * both backends (attacks: password guessing, replaying a second-factor code, user enumeration by reason).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findMemberBySlug } from "@relink/db";
import { beforeAll, describe, expect, it } from "vitest";
import {
  base32,
  createPortalUser,
  hashPassword,
  hotp,
  LOCKOUT_POLICY,
  signIn,
  totp,
  verifyPassword,
} from "../src/portal-auth.ts";
import { createTestCore, describeEachBackend, onboardTestMember, type TestCore } from "../src/testing.ts";

const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, "vectors", "rfc6238-totp.json"), "utf8"),
) as {
  seeds: Record<"sha1" | "sha256" | "sha512", string>;
  totp: { time: number; sha1: string; sha256: string; sha512: string }[];
  scrypt: { password: string; salt: string; N: number; r: number; p: number; dk: string };
};

describe("TOTP (RFC 6238 Appendix B)", () => {
  for (const v of vectors.totp) {
    for (const hash of ["sha1", "sha256", "sha512"] as const) {
      it(`T=${v.time} ${hash}`, () => {
        const secret = new TextEncoder().encode(vectors.seeds[hash]);
        expect(totp(secret, new Date(v.time * 1000), 8, hash)).toBe(v[hash]);
      });
    }
  }
  it("a wrong secret gives another code", () => {
    const secret = new TextEncoder().encode(`${vectors.seeds.sha1.slice(0, -1)}1`);
    expect(totp(secret, new Date(59_000), 8)).not.toBe("94287082");
  });
  it("HOTP counter 0 of RFC 4226 Appendix D", () => {
    expect(hotp(new TextEncoder().encode(vectors.seeds.sha1), 0n)).toBe("755224");
  });
  it("base32 of RFC 4648 §10", () => {
    expect(base32(new TextEncoder().encode("foobar"))).toBe("MZXW6YTBOI");
  });
});

describe("password hashes (scrypt, RFC 7914 §12)", () => {
  const s = vectors.scrypt;
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64").replace(/=+$/, "");
  const stored = `$scrypt$ln=10,r=${s.r},p=${s.p}$${b64(new TextEncoder().encode(s.salt))}$${b64(Buffer.from(s.dk, "hex"))}`;
  it("verifies the RFC vector and refuses a wrong password", async () => {
    expect(2 ** 10).toBe(s.N);
    expect(await verifyPassword(s.password, stored)).toBe(true);
    expect(await verifyPassword("Password", stored)).toBe(false);
  });
  it("round-trips, salts each hash, and refuses malformed or tampered strings", async () => {
    const a = await hashPassword("correct horse battery");
    const b = await hashPassword("correct horse battery");
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery", a)).toBe(true);
    expect(await verifyPassword("correct horse batterY", a)).toBe(false);
    expect(await verifyPassword("x", "not a hash")).toBe(false);
    expect(await verifyPassword("correct horse battery", a.replace("ln=15", "ln=14"))).toBe(false);
    expect(await verifyPassword("correct horse battery", a.replace("ln=15", "ln=30"))).toBe(false);
  });
});

describeEachBackend("portal sign-in", ({ db }) => {
  let core: TestCore;
  let memberId: string;
  const secret = new Uint8Array(20).fill(7);
  beforeAll(async () => {
    core = createTestCore(db());
    await onboardTestMember(core, { slug: "portal-bank" });
    memberId = (await findMemberBySlug(db(), "portal-bank"))!.id;
    await createPortalUser(core.deps, {
      email: "Op@Bank.example",
      displayName: "操作员",
      memberId,
      password: "operator-pass-1",
      roles: ["collections_operator"],
    });
    await createPortalUser(core.deps, {
      email: "dpo@bank.example",
      displayName: "DPO",
      memberId,
      password: "dpo-pass-123",
      roles: ["member_dpo"],
      totpSecret: secret,
    });
  });

  it("signs in with the right password (e-mail case-insensitive) and returns the grants", async () => {
    const r = await signIn(core.deps, { email: "op@bank.example", password: "operator-pass-1" });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.identity.grants).toEqual([{ role: "collections_operator", memberId }]);
  });

  it("gives the same answer for an unknown e-mail as for a wrong password", async () => {
    const unknown = await signIn(core.deps, { email: "nobody@bank.example", password: "operator-pass-1" });
    expect(unknown).toEqual({ ok: false, reason: "invalid" });
  });

  it("locks the account after repeated failures, even for the right password, until the lock expires", async () => {
    for (let i = 1; i < LOCKOUT_POLICY.maxAttempts; i++) {
      expect(await signIn(core.deps, { email: "op@bank.example", password: `guess-${i}` })).toEqual({
        ok: false,
        reason: "invalid",
      });
    }
    expect(await signIn(core.deps, { email: "op@bank.example", password: "guess-last" })).toEqual({
      ok: false,
      reason: "locked",
    });
    expect(await signIn(core.deps, { email: "op@bank.example", password: "operator-pass-1" })).toEqual({
      ok: false,
      reason: "locked",
    });
    core.clock.advance(LOCKOUT_POLICY.lockMinutes * 60_000 + 1000);
    expect((await signIn(core.deps, { email: "op@bank.example", password: "operator-pass-1" })).ok).toBe(
      true,
    );
  });

  it("asks for the second factor, accepts a current code once and refuses its replay", async () => {
    const base = { email: "dpo@bank.example", password: "dpo-pass-123" };
    expect(await signIn(core.deps, base)).toEqual({ ok: false, reason: "totp_required" });
    expect(
      await signIn(core.deps, {
        ...base,
        totp: "000000" === totp(secret, core.clock()) ? "111111" : "000000",
      }),
    ).toEqual({
      ok: false,
      reason: "totp_invalid",
    });
    const code = totp(secret, core.clock());
    expect((await signIn(core.deps, { ...base, totp: code })).ok).toBe(true);
    expect(await signIn(core.deps, { ...base, totp: code })).toEqual({ ok: false, reason: "totp_invalid" });
  });

  it("refuses a disabled user", async () => {
    await db()
      .updateTable("user")
      .set({ status: "disabled" })
      .where("email", "=", "dpo@bank.example")
      .execute();
    core.clock.advance(60_000);
    const r = await signIn(core.deps, {
      email: "dpo@bank.example",
      password: "dpo-pass-123",
      totp: totp(secret, core.clock()),
    });
    expect(r).toEqual({ ok: false, reason: "disabled" });
  });
});
