/**
 * Portal sign-in: password hashing (scrypt, RFC 7914, via node:crypto), failed-attempt lockout and optional
 * TOTP second factor (RFC 6238 over HOTP, RFC 4226). Sessions are the portal's (next-auth JWT); this module
 * decides who may have one and with which role grants.
 *
 * Limits: scrypt with N=2^15, r=8, p=1 (≈ 32 MiB, tens of ms) — the OWASP 2023 minimum is N=2^17 for the
 * same r,p; it is lowered for the demo's two shared cores and recorded in every hash, so it can be raised
 * without invalidating stored hashes. Unknown e-mails run one scrypt too, so timing does not reveal users.
 */
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import {
  activeRoles,
  findCredential,
  findUserByEmail,
  grantRole,
  insertUser,
  type Role,
  type RoleGrant,
  recordFailedSignIn,
  recordSuccessfulSignIn,
  setPassword,
  setTotpSecret,
} from "@relink/db";
import { RelinkError } from "@relink/protocol";
import type { CoreDeps } from "./context.ts";

const scrypt = promisify(scryptCb) as (
  password: string | Uint8Array,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

export const PASSWORD_POLICY = { minLength: 10, maxLength: 200 } as const;
export const LOCKOUT_POLICY = { maxAttempts: 5, lockMinutes: 15 } as const;
const SCRYPT = { ln: 15, r: 8, p: 1, keylen: 32 } as const;

export async function hashPassword(password: string, salt: Uint8Array = randomBytes(16)): Promise<string> {
  const hash = await scrypt(password.normalize("NFKC"), salt, SCRYPT.keylen, {
    N: 2 ** SCRYPT.ln,
    r: SCRYPT.r,
    p: SCRYPT.p,
    maxmem: 256 * 2 ** SCRYPT.ln * SCRYPT.r,
  });
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64").replace(/=+$/, "");
  return `$scrypt$ln=${SCRYPT.ln},r=${SCRYPT.r},p=${SCRYPT.p}$${b64(salt)}$${b64(hash)}`;
}

/** Constant-time check of a password against a stored `$scrypt$…` string; malformed strings never verify. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(
    stored,
  );
  if (!m) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(m[4]!, "base64");
  const expected = Buffer.from(m[5]!, "base64");
  if (expected.length < 16) return false;
  const actual = await scrypt(password.normalize("NFKC"), salt, expected.length, {
    N: 2 ** ln,
    r,
    p,
    maxmem: 256 * 2 ** ln * r + 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

// ---- TOTP (RFC 6238 §4; HOTP dynamic truncation RFC 4226 §5.3) ----

export type TotpHash = "sha1" | "sha256" | "sha512";

export function hotp(secret: Uint8Array, counter: bigint, digits = 6, hash: TotpHash = "sha1"): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = createHmac(hash, secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin =
    ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, "0");
}

export const TOTP_STEP_SECONDS = 30;

export function totpStep(at: Date, stepSeconds = TOTP_STEP_SECONDS): bigint {
  return BigInt(Math.floor(at.getTime() / 1000 / stepSeconds));
}

export function totp(secret: Uint8Array, at: Date, digits = 6, hash: TotpHash = "sha1"): string {
  return hotp(secret, totpStep(at), digits, hash);
}

/** The step a code matches within ±1 step of `at` (clock drift, RFC 6238 §5.2), or undefined. */
export function matchTotp(secret: Uint8Array, code: string, at: Date): bigint | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const now = totpStep(at);
  for (const step of [now, now - 1n, now + 1n]) {
    const expected = Buffer.from(hotp(secret, step));
    if (timingSafeEqual(expected, Buffer.from(code))) return step;
  }
  return undefined;
}

/** RFC 4648 base32 (no padding), the form authenticator apps take in `otpauth://` URIs. */
export function base32(bytes: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

// ---- sign-in ----

export interface PortalIdentity {
  userId: string;
  memberId: string | null;
  displayName: string;
  email: string;
  /** Hex of the user's audit pseudonym (how the audit log names the user). */
  pseudonym: string;
  grants: { role: Role; memberId: string | null }[];
}

export type SignInResult =
  | { ok: true; identity: PortalIdentity }
  | { ok: false; reason: "invalid" | "locked" | "totp_required" | "totp_invalid" | "disabled" };

// A valid hash of a random password, verified against for unknown e-mails (same cost as a real check).
let decoyHash: Promise<string> | undefined;

export async function signIn(
  deps: Pick<CoreDeps, "db" | "clock" | "log">,
  input: { email: string; password: string; totp?: string },
): Promise<SignInResult> {
  const now = deps.clock();
  const user = await findUserByEmail(deps.db, input.email);
  const credential = user && (await findCredential(deps.db, user.id));
  if (!user || !credential) {
    decoyHash ??= hashPassword(randomBytes(16).toString("hex"));
    await verifyPassword(input.password, await decoyHash);
    return { ok: false, reason: "invalid" };
  }
  if (credential.lockedUntil && credential.lockedUntil > now) {
    deps.log.warn("portal.sign_in_locked", { user: user.id });
    return { ok: false, reason: "locked" };
  }
  const fail = async (reason: "invalid" | "totp_invalid"): Promise<SignInResult> => {
    const r = await recordFailedSignIn(deps.db, user.id, now, {
      maxAttempts: LOCKOUT_POLICY.maxAttempts,
      lockUntil: new Date(now.getTime() + LOCKOUT_POLICY.lockMinutes * 60_000),
    });
    deps.log.warn("portal.sign_in_failed", { user: user.id, reason, locked: r.lockedUntil !== null });
    return { ok: false, reason: r.lockedUntil ? "locked" : reason };
  };
  if (!(await verifyPassword(input.password, credential.passwordHash))) return fail("invalid");
  if (user.status !== "active") return { ok: false, reason: "disabled" };
  let step: bigint | null = null;
  if (credential.totpSecret) {
    if (!input.totp) return { ok: false, reason: "totp_required" };
    const matched = matchTotp(credential.totpSecret, input.totp, now);
    // A code is good once: a step at or before the last accepted one is a replay.
    if (matched === undefined || (credential.lastTotpStep !== null && matched <= credential.lastTotpStep))
      return fail("totp_invalid");
    step = matched;
  }
  await recordSuccessfulSignIn(deps.db, user.id, now, step);
  deps.log.info("portal.sign_in", { user: user.id });
  return { ok: true, identity: await portalIdentity(deps, user.id) };
}

/** The user's current identity and active grants (re-read on every API call: revocation is immediate). */
export async function portalIdentity(deps: Pick<CoreDeps, "db">, userId: string): Promise<PortalIdentity> {
  const user = await deps.db
    .selectFrom("user")
    .select(["id", "member_id", "display_name", "email", "audit_pseudonym", "status"])
    .where("id", "=", userId)
    .executeTakeFirst();
  if (!user) throw new Error("no such user");
  const grants: RoleGrant[] = user.status === "active" ? await activeRoles(deps.db, userId) : [];
  return {
    userId: user.id,
    memberId: user.member_id,
    displayName: user.display_name,
    email: user.email,
    pseudonym: Buffer.from(user.audit_pseudonym).toString("hex"),
    grants: grants.map((g) => ({ role: g.role, memberId: g.memberId })),
  };
}

/** Creates a portal user with a password and role grants (seeding, member admin's "add staff"). */
export async function createPortalUser(
  deps: Pick<CoreDeps, "db" | "clock">,
  input: {
    email: string;
    displayName: string;
    memberId: string | null;
    password: string;
    roles: Role[];
    grantedBy?: string | null;
    totpSecret?: Uint8Array;
  },
): Promise<PortalIdentity> {
  if (input.password.length < PASSWORD_POLICY.minLength || input.password.length > PASSWORD_POLICY.maxLength)
    throw new RelinkError(
      "BAD_INPUT",
      `password: between ${PASSWORD_POLICY.minLength} and ${PASSWORD_POLICY.maxLength} characters`,
    );
  const at = deps.clock();
  const hash = await hashPassword(input.password);
  const id = await deps.db.transaction().execute(async (trx) => {
    const user = await insertUser(trx, {
      memberId: input.memberId,
      email: input.email,
      displayName: input.displayName,
      auditPseudonym: randomBytes(32),
    });
    await setPassword(trx, user.id, hash, at);
    if (input.totpSecret) await setTotpSecret(trx, user.id, input.totpSecret, at);
    for (const role of input.roles) {
      const network = role === "network_admin" || role === "network_dpo";
      await grantRole(trx, {
        userId: user.id,
        role,
        memberId: network ? null : input.memberId,
        grantedBy: input.grantedBy ?? null,
      });
    }
    return user.id;
  });
  return portalIdentity(deps, id);
}
