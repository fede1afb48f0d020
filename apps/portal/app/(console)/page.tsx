"use client";
import { useQuery } from "@tanstack/react-query";
import type { MessageKey } from "../../web/i18n.ts";
import { useI18n } from "../../web/i18n-client.tsx";
import { useTRPC } from "../../web/trpc.ts";
import { Card, ErrorText, PageHeader, Stat } from "../../web/ui.tsx";

export default function Dashboard() {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const me = useQuery(trpc.portal.me.queryOptions());
  const d = useQuery(trpc.portal.dashboard.queryOptions());
  const n = (v: number | null | undefined) =>
    v === null || v === undefined ? t("common.none") : v.toLocaleString();
  return (
    <>
      <PageHeader title={t("dash.title")} />
      {d.error ? <ErrorText message={d.error.message} /> : null}
      {d.data?.member ? (
        <Card title={`${t("dash.member")} · ${d.data.member.displayName}`}>
          <div className="stats">
            <Stat label={t("dash.records")} value={n(d.data.recordsPublished)} />
            <Stat label={t("dash.consentsActive")} value={n(d.data.consentsActive)} />
            <Stat label={t("dash.expiring")} value={n(d.data.consentsExpiringIn30Days)} />
            <Stat
              label={t("dash.lookupsToday")}
              value={n(d.data.lookupsToday)}
              sub={t("dash.quota", { quota: n(d.data.lookupQuota) })}
            />
            <Stat label={t("dash.evaluationsToday")} value={n(d.data.evaluationsToday)} />
          </div>
        </Card>
      ) : null}
      <Card title={t("dash.network")}>
        <div className="stats">
          <Stat label={t("dash.members")} value={n(d.data?.members)} />
          <Stat label={t("dash.logSize")} value={n(d.data?.logSize)} />
          <Stat
            label={t("dash.lastCheckpoint")}
            value={d.data?.lastCheckpointAt ? dateTime(d.data.lastCheckpointAt) : t("common.none")}
          />
        </div>
      </Card>
      <Card title={t("dash.roles")}>
        <div className="roles-list">
          {me.data?.roles.map((r) => (
            <span key={r.role} className="badge ok">
              {t(`role.${r.role}` as MessageKey)}
            </span>
          ))}
        </div>
      </Card>
    </>
  );
}
