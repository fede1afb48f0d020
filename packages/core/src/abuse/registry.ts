/**
 * The network's registries, kept by the network admin / network DPO (docs/adr/0045-abuse-controls.md):
 *  - honeytokens: tags of synthetic identities the network publishes (through a network-owned member, with
 *    sealed labels like any publisher's); any lookup of one raises a high-severity alert naming the member
 *    and the lookup's receipt (abuse/lookup-monitor.ts);
 *  - contact opt-outs: tags of data subjects who opted out of contact relocation network-wide (the subject's
 *    request goes through the network DPO, who computes the tags through the key holders like any member);
 *    every lookup answers them with no records (docs/protocol/skip-trace.md §Opt-out).
 * Leaves carry counts only — never the tags or commitments to them: a member that tagged a honeytoken must
 * not be able to recognise it in the public log, nor a querier an opted-out subject.
 */
import { insertHoneytokens, insertOptOuts, optOutRegistrations } from "@relink/db";
import { fromBase64Url, RelinkError } from "@relink/protocol";
import type { CoreDeps } from "../context.ts";

function checkEpoch(deps: CoreDeps, epoch: number): void {
  if (epoch !== deps.policy.epoch)
    throw new RelinkError("WRONG_EPOCH", `tags of epoch ${epoch}, network epoch ${deps.policy.epoch}`);
}

export async function plantHoneytokens(
  deps: CoreDeps,
  input: { epoch: number; tags: string[]; note: string },
): Promise<{ planted: number; receipt: unknown }> {
  checkEpoch(deps, input.epoch);
  const at = deps.clock();
  const tags = input.tags.map(fromBase64Url);
  const done = await deps.db.transaction().execute(async (trx) => {
    const planted = await insertHoneytokens(trx, { tags, epoch: input.epoch, note: input.note }, at);
    const audit = await deps.audit.append(
      trx,
      {
        type: "honeytoken.planted",
        memberId: null,
        inputSize: tags.length,
        outputCount: planted,
        decision: { allowed: true, rules: ["admin.honeytoken"] },
      },
      at,
    );
    return { planted, audit };
  });
  deps.log.info("honeytoken.planted", { count: done.planted });
  return { planted: done.planted, receipt: await deps.audit.receipt(done.audit) };
}

export async function registerOptOuts(
  deps: CoreDeps,
  input: { epoch: number; tags: string[]; requestReference: string },
): Promise<{ registered: number; receipt: unknown }> {
  checkEpoch(deps, input.epoch);
  const at = deps.clock();
  const tags = input.tags.map(fromBase64Url);
  const done = await deps.db.transaction().execute(async (trx) => {
    const registered = await insertOptOuts(
      trx,
      { tags, epoch: input.epoch, requestReference: input.requestReference },
      at,
    );
    const audit = await deps.audit.append(
      trx,
      {
        type: "optout.registered",
        memberId: null,
        inputSize: tags.length,
        outputCount: registered,
        decision: { allowed: true, rules: ["dpo.opt_out"] },
      },
      at,
    );
    return { registered, audit };
  });
  deps.log.info("optout.registered", { count: done.registered });
  return { registered: done.registered, receipt: await deps.audit.receipt(done.audit) };
}

/** The network DPO's view of the opt-out registry: registrations with their tag counts, never the tags. */
export async function optOutRegistry(deps: CoreDeps): Promise<{
  total: number;
  registrations: { requestReference: string; epoch: number; tags: number; registeredAt: string }[];
}> {
  const r = await optOutRegistrations(deps.db);
  return {
    total: r.total,
    registrations: r.registrations.map((x) => ({ ...x, registeredAt: x.registeredAt.toISOString() })),
  };
}
