"use client";
/**
 * Member administration: the member's usage against its quotas, its keys and its staff — a member
 * administrator sets each person's member roles here (portal.setStaffRoles: own member's staff only, never
 * network roles, never one's own admin role; the person's next request sees the change). Keys and quotas
 * are read-only here (portal.memberKeys): the network administrator registers keys and sets quotas — except
 * that a member administrator rotates the member's request-signing key (ADR 0068): the new key is made in
 * the crypto worker, the hub switches to it, the browser's stored key is replaced and the new key file
 * (member.json) is downloaded for the member's nodes.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { RotateKeyCard } from "../../../web/rotate-key.tsx";
import { useTRPC } from "../../../web/trpc.ts";
import { Badge, Card, ErrorText, PageHeader, Stat } from "../../../web/ui.tsx";

const MEMBER_ROLES = [
  "collections_operator",
  "data_engineer",
  "risk_analyst",
  "member_dpo",
  "member_admin",
] as const;
type MemberRole = (typeof MEMBER_ROLES)[number];

export default function MemberPage() {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const staff = useQuery(trpc.portal.staff.queryOptions());
  const d = useQuery(trpc.portal.dashboard.queryOptions());
  const me = useQuery(trpc.portal.me.queryOptions());
  const keys = useQuery(trpc.portal.memberKeys.queryOptions());
  const isAdmin = me.data?.roles.some((g) => g.role === "member_admin") ?? false;
  const [editing, setEditing] = useState<{ userId: string; roles: Set<MemberRole> } | null>(null);
  const save = useMutation(
    trpc.portal.setStaffRoles.mutationOptions({
      onSuccess: () => {
        setEditing(null);
        void qc.invalidateQueries({ queryKey: trpc.portal.staff.queryKey() });
      },
    }),
  );
  return (
    <>
      <PageHeader title={t("member.title")} explain={d.data?.member?.displayName} />
      {staff.error ? <ErrorText message={staff.error.message} /> : null}
      {save.error ? <ErrorText message={save.error.message} /> : null}
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
      {keys.error ? <ErrorText message={keys.error.message} /> : null}
      {keys.data ? (
        <Card title={t("member.quotas")}>
          <p className="muted">{t("member.quotas.explain")}</p>
          <div className="stats">
            <Stat
              label={t("member.quota.lookup")}
              value={
                <span data-testid="quota-lookup">{keys.data.quotas.dailyLookupQuota.toLocaleString()}</span>
              }
              sub={t("member.quota.used", { used: keys.data.quotas.lookupsToday, day: keys.data.quotas.day })}
            />
            <Stat
              label={t("member.quota.evaluation")}
              value={
                <span data-testid="quota-evaluation">
                  {keys.data.quotas.dailyEvaluationQuota.toLocaleString()}
                </span>
              }
              sub={t("member.quota.used", {
                used: keys.data.quotas.evaluationsToday,
                day: keys.data.quotas.day,
              })}
            />
          </div>
        </Card>
      ) : null}
      {keys.data ? (
        <Card title={t("member.keys")} wide>
          <p className="muted">{t("member.keys.explain")}</p>
          <table className="table compact" data-testid="keys-table">
            <thead>
              <tr>
                <th>{t("member.keys.col.purpose")}</th>
                <th>{t("member.keys.col.algorithm")}</th>
                <th>{t("keys.fingerprint")}</th>
                <th>{t("member.keys.col.created")}</th>
                <th>{t("member.col.status")}</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.keys.map((k) => (
                <tr key={k.id} data-purpose={k.purpose} data-fingerprint={k.fingerprint}>
                  <td>{t(`member.keys.purpose.${k.purpose}` as MessageKey)}</td>
                  <td>
                    <code>{k.algorithm}</code>
                  </td>
                  <td>
                    <code>{k.fingerprint.slice(0, 22)}…</code>
                  </td>
                  <td>{dateTime(k.createdAt)}</td>
                  <td>
                    <Badge tone="ok">{t("common.active")}</Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      ) : null}
      {isAdmin ? (
        <RotateKeyCard
          op="rotate-key"
          file={{ name: "member.json", type: "application/json" }}
          prefix="member.rotate"
          testIds="rotate"
          onRotated={() => void qc.invalidateQueries({ queryKey: trpc.portal.memberKeys.queryKey() })}
        />
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
                <td data-testid={`staff-roles-${u.email}`}>
                  {editing?.userId === u.userId ? (
                    <div className="role-edit">
                      {MEMBER_ROLES.map((r) => (
                        <label key={r} className="check">
                          <input
                            type="checkbox"
                            checked={editing.roles.has(r)}
                            data-testid={`role-${r}`}
                            onChange={(e) => {
                              const roles = new Set(editing.roles);
                              if (e.target.checked) roles.add(r);
                              else roles.delete(r);
                              setEditing({ userId: u.userId, roles });
                            }}
                          />
                          {t(`role.${r}` as MessageKey)}
                        </label>
                      ))}
                      <button
                        type="button"
                        className="primary"
                        disabled={save.isPending}
                        data-testid="roles-save"
                        onClick={() => save.mutate({ userId: u.userId, roles: [...editing.roles] })}
                      >
                        {t("common.save")}
                      </button>
                      <button type="button" onClick={() => setEditing(null)}>
                        {t("member.cancel")}
                      </button>
                    </div>
                  ) : (
                    <>
                      {u.roles.map((r) => (
                        <span key={r} className="badge muted" data-role={r}>
                          {t(`role.${r}` as MessageKey)}
                        </span>
                      ))}
                      {isAdmin ? (
                        <button
                          type="button"
                          className="link"
                          data-testid="roles-edit"
                          onClick={() =>
                            setEditing({
                              userId: u.userId,
                              roles: new Set(
                                u.roles.filter((r): r is MemberRole =>
                                  (MEMBER_ROLES as readonly string[]).includes(r),
                                ),
                              ),
                            })
                          }
                        >
                          {t("member.editRoles")}
                        </button>
                      ) : null}
                    </>
                  )}
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
