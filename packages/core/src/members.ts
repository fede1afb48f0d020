/** Network administration: onboarding, suspension, quotas. Callers are network admins (checked by api). */
import {
  findMemberBySlug,
  insertMember,
  insertMemberKey,
  listActiveKeys,
  listMembers,
  type Member,
  setMemberQuotas,
  setMemberStatus,
} from "@relink/db";
import {
  fromBase64Url,
  keyFingerprint,
  type MemberDirectoryEntry,
  type OnboardMemberInput,
  RelinkError,
  toBase64Url,
} from "@relink/protocol";
import type { CoreDeps } from "./context.ts";

export async function onboardMember(deps: CoreDeps, input: OnboardMemberInput): Promise<Member> {
  const at = deps.clock();
  return deps.db.transaction().execute(async (trx) => {
    const member = await insertMember(trx, {
      slug: input.slug,
      displayName: input.displayName,
      kind: input.kind,
      capabilities: input.capabilities,
      ...(input.dailyLookupQuota !== undefined ? { dailyLookupQuota: BigInt(input.dailyLookupQuota) } : {}),
      ...(input.dailyEvaluationQuota !== undefined
        ? { dailyEvaluationQuota: BigInt(input.dailyEvaluationQuota) }
        : {}),
    });
    const publicKey = fromBase64Url(input.signingPublicKey);
    await insertMemberKey(trx, {
      memberId: member.id,
      purpose: "request_signing",
      algorithm: "ed25519",
      publicKey,
      fingerprint: keyFingerprint("ed25519", publicKey),
    });
    await deps.audit.append(
      trx,
      {
        type: "member.onboarded",
        memberId: member.id,
        inputSize: 1,
        outputCount: 1,
        decision: { allowed: true, rules: ["admin.onboard"] },
      },
      at,
    );
    deps.log.info("member.onboarded", { member: member.slug });
    return member;
  });
}

export async function memberBySlugOrThrow(deps: Pick<CoreDeps, "db">, slug: string): Promise<Member> {
  const m = await findMemberBySlug(deps.db, slug);
  if (!m) throw new RelinkError("NOT_FOUND", `no member '${slug}'`);
  return m;
}

export async function suspendMember(deps: CoreDeps, slug: string, reason: string): Promise<Member> {
  const at = deps.clock();
  const m = await memberBySlugOrThrow(deps, slug);
  return deps.db.transaction().execute(async (trx) => {
    const updated = await setMemberStatus(trx, m.id, { status: "suspended", reason, at });
    await deps.audit.append(
      trx,
      {
        type: "member.suspended",
        memberId: m.id,
        inputSize: 1,
        outputCount: 1,
        decision: { allowed: true, rules: ["admin.suspend"] },
      },
      at,
    );
    return updated;
  });
}

export async function reinstateMember(deps: CoreDeps, slug: string): Promise<Member> {
  const at = deps.clock();
  const m = await memberBySlugOrThrow(deps, slug);
  return deps.db.transaction().execute(async (trx) => {
    const updated = await setMemberStatus(trx, m.id, { status: "active", at });
    await deps.audit.append(
      trx,
      {
        type: "member.reinstated",
        memberId: m.id,
        inputSize: 1,
        outputCount: 1,
        decision: { allowed: true, rules: ["admin.reinstate"] },
      },
      at,
    );
    return updated;
  });
}

export async function setQuotas(
  deps: CoreDeps,
  slug: string,
  quotas: { dailyLookupQuota?: number; dailyEvaluationQuota?: number },
): Promise<Member> {
  const m = await memberBySlugOrThrow(deps, slug);
  return setMemberQuotas(
    deps.db,
    m.id,
    {
      ...(quotas.dailyLookupQuota !== undefined ? { dailyLookupQuota: BigInt(quotas.dailyLookupQuota) } : {}),
      ...(quotas.dailyEvaluationQuota !== undefined
        ? { dailyEvaluationQuota: BigInt(quotas.dailyEvaluationQuota) }
        : {}),
    },
    deps.clock(),
  );
}

/** Public member directory for key holders: request-signing keys, status and evaluation quota. */
export async function memberDirectory(deps: Pick<CoreDeps, "db">): Promise<MemberDirectoryEntry[]> {
  const members = await listMembers(deps.db);
  const out: MemberDirectoryEntry[] = [];
  for (const m of members) {
    const keys = await listActiveKeys(deps.db, m.id, "request_signing");
    out.push({
      memberId: m.id,
      slug: m.slug,
      status: m.status,
      signingKeys: keys.map((k) => toBase64Url(k.publicKey)),
      dailyEvaluationQuota: Number(m.dailyEvaluationQuota),
    });
  }
  return out;
}
