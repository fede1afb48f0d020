"use client";
import { useQuery } from "@tanstack/react-query";
import type { MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { useTRPC } from "../../../web/trpc.ts";
import { Badge, Card, ErrorText, PageHeader, Stat } from "../../../web/ui.tsx";

export default function MemberPage() {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const staff = useQuery(trpc.portal.staff.queryOptions());
  const d = useQuery(trpc.portal.dashboard.queryOptions());
  return (
    <>
      <PageHeader title={t("member.title")} explain={d.data?.member?.displayName} />
      {staff.error ? <ErrorText message={staff.error.message} /> : null}
      {d.data?.member ? (
        <Card>
          <div className="stats">
            <Stat
              label={t("dash.lookupsToday")}
              value={d.data.lookupsToday ?? 0}
              sub={t("dash.quota", { quota: d.data.lookupQuota ?? 0 })}
            />
            <Stat label={t("dash.evaluationsToday")} value={d.data.evaluationsToday ?? 0} />
            <Stat label={t("dash.records")} value={d.data.recordsPublished ?? 0} />
          </div>
        </Card>
      ) : null}
      <Card title={t("member.staff")} wide>
        <table className="table" data-testid="staff-table">
          <thead>
            <tr>
              <th>{t("member.col.name")}</th>
              <th>{t("member.col.email")}</th>
              <th>{t("member.col.roles")}</th>
              <th>{t("member.col.status")}</th>
              <th>{t("member.col.lastLogin")}</th>
            </tr>
          </thead>
          <tbody>
            {staff.data?.map((u) => (
              <tr key={u.userId}>
                <td>{u.displayName}</td>
                <td>{u.email}</td>
                <td>
                  {u.roles.map((r) => (
                    <span key={r} className="badge muted">
                      {t(`role.${r}` as MessageKey)}
                    </span>
                  ))}
                </td>
                <td>
                  <Badge tone={u.status === "active" ? "ok" : "bad"}>
                    {u.status === "active" ? t("common.active") : t("common.suspended")}
                  </Badge>
                </td>
                <td>{u.lastLoginAt ? dateTime(u.lastLoginAt) : t("common.none")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}
