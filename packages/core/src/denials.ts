/** Every refusal of an authenticated member's request is logged (audit leaf + log line), then thrown. */
import { RelinkError } from "@relink/protocol";
import type { AuthenticatedMember } from "./auth.ts";
import type { AuditEventInput, CoreDeps } from "./context.ts";

export async function deny(
  deps: CoreDeps,
  who: AuthenticatedMember,
  error: RelinkError,
  event: Partial<AuditEventInput> & { rule: string },
): Promise<never> {
  const { rule, ...rest } = event;
  await deps.audit.append(
    deps.db,
    {
      type: "denial",
      memberId: who.member.id,
      inputSize: 0,
      outputCount: 0,
      ...rest,
      decision: { allowed: false, rules: [rule], reason: error.code },
      requestHash: who.requestHash,
    },
    deps.clock(),
  );
  deps.log.warn("request.denied", { member: who.member.slug, code: error.code, rule });
  throw error;
}

export async function requireActive(deps: CoreDeps, who: AuthenticatedMember): Promise<void> {
  if (who.member.status === "suspended") {
    await deny(deps, who, new RelinkError("MEMBER_SUSPENDED", `member ${who.member.slug} is suspended`), {
      rule: "member.active",
    });
  }
}

/** Seconds until the next quota day starts. Quota days are UTC calendar days. */
export function secondsUntilNextDay(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.ceil((next - now.getTime()) / 1000);
}

export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}
