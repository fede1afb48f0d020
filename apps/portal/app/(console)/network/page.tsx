"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { useTRPC } from "../../../web/trpc.ts";
import { Badge, Card, ErrorText, PageHeader } from "../../../web/ui.tsx";

/** Key holders' health, checked from this browser (the holders allow the portal's origin). */
function useHolderHealth(urls: string[]) {
  const [up, setUp] = useState<Record<string, boolean>>({});
  const key = urls.join(",");
  useEffect(() => {
    let live = true;
    const list = key ? key.split(",") : [];
    void Promise.all(
      list.map(async (u) => {
        const ok = await fetch(`${u.replace(/\/$/, "")}/v1/info`, { cache: "no-store" }).then(
          (r) => r.ok,
          () => false,
        );
        return [u, ok] as const;
      }),
    ).then((rows) => live && setUp(Object.fromEntries(rows)));
    return () => {
      live = false;
    };
  }, [key]);
  return up;
}

export default function NetworkPage() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const me = useQuery(trpc.portal.me.queryOptions());
  const members = useQuery(trpc.portal.members.queryOptions());
  const isAdmin = me.data?.roles.some((r) => r.role === "network_admin") ?? false;
  const holders = useQuery({ ...trpc.portal.keyHolders.queryOptions(), enabled: isAdmin });
  const health = useHolderHealth(holders.data?.holders.map((h) => h.url) ?? []);
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.portal.members.queryKey() });
  const suspend = useMutation(trpc.portal.suspendMember.mutationOptions({ onSuccess: refresh }));
  const reinstate = useMutation(trpc.portal.reinstateMember.mutationOptions({ onSuccess: refresh }));
  const quotas = useMutation(trpc.portal.setQuotas.mutationOptions({ onSuccess: refresh }));
  const [quotaDraft, setQuotaDraft] = useState<Record<string, string>>({});
  const error = members.error ?? suspend.error ?? reinstate.error ?? quotas.error;
  return (
    <>
      <PageHeader title={t("network.title")} />
      {error ? <ErrorText message={error.message} /> : null}
      <Card title={t("network.members")} wide>
        <table className="table" data-testid="members-table">
          <thead>
            <tr>
              <th>{t("network.col.slug")}</th>
              <th>{t("network.col.name")}</th>
              <th>{t("network.col.capabilities")}</th>
              <th>{t("network.col.status")}</th>
              <th className="num">{t("network.col.quota")}</th>
              {isAdmin ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {members.data?.map((m) => (
              <tr key={m.id}>
                <td>
                  <code>{m.slug}</code>
                </td>
                <td>{m.displayName}</td>
                <td>{m.capabilities.map((c) => t(`cap.${c}` as MessageKey)).join("、")}</td>
                <td>
                  <Badge tone={m.status === "active" ? "ok" : "bad"}>
                    {t(`common.${m.status}` as MessageKey)}
                  </Badge>
                  {m.suspendedReason ? <span className="muted"> {m.suspendedReason}</span> : null}
                </td>
                <td className="num" data-testid={`quota-${m.slug}`}>
                  {m.dailyLookupQuota.toLocaleString()}
                </td>
                {isAdmin ? (
                  <td className="row-actions">
                    <input
                      aria-label={t("network.col.quota")}
                      size={7}
                      inputMode="numeric"
                      value={quotaDraft[m.slug] ?? ""}
                      data-testid={`quota-input-${m.slug}`}
                      onChange={(e) => setQuotaDraft({ ...quotaDraft, [m.slug]: e.target.value })}
                    />
                    <button
                      type="button"
                      className="ghost"
                      disabled={!/^\d+$/.test(quotaDraft[m.slug] ?? "")}
                      data-testid={`quota-set-${m.slug}`}
                      onClick={() =>
                        quotas.mutate({ slug: m.slug, dailyLookupQuota: Number(quotaDraft[m.slug]) })
                      }
                    >
                      {t("network.setQuota")}
                    </button>
                    {m.status === "active" ? (
                      <button
                        type="button"
                        className="ghost danger"
                        onClick={() => {
                          const reason = window.prompt(t("network.reason"));
                          if (reason) suspend.mutate({ slug: m.slug, reason });
                        }}
                      >
                        {t("network.suspend")}
                      </button>
                    ) : (
                      <button
                        type="button"
                        className="ghost"
                        onClick={() => reinstate.mutate({ slug: m.slug })}
                      >
                        {t("network.reinstate")}
                      </button>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      {holders.data ? (
        <Card
          title={t("network.holders", {
            threshold: holders.data.threshold,
            count: holders.data.holders.length,
            epoch: holders.data.epoch,
          })}
        >
          <table className="table compact" data-testid="holders-table">
            <tbody>
              {holders.data.holders.map((h) => (
                <tr key={h.index}>
                  <td>#{h.index}</td>
                  <td>
                    <code>{h.url}</code>
                  </td>
                  <td>
                    <code>{h.publicShare.slice(0, 16)}…</code>
                  </td>
                  <td>
                    {h.url in health ? (
                      <Badge tone={health[h.url] ? "ok" : "bad"}>
                        {health[h.url] ? t("network.holderUp") : t("network.holderDown")}
                      </Badge>
                    ) : (
                      t("common.loading")
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      ) : null}
    </>
  );
}
