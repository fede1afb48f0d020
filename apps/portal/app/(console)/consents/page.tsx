"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { UploadJob, useJob } from "../../../web/job.tsx";
import { loadMemberKey } from "../../../web/keys.ts";
import type { WorkerResult } from "../../../web/protocol.ts";
import { useTRPC } from "../../../web/trpc.ts";
import { Badge, Card, ErrorText, PageHeader } from "../../../web/ui.tsx";
import { runJob } from "../../../web/worker-client.ts";

type R = Extract<WorkerResult, { op: "consents" }>;

export default function ConsentsPage() {
  const { t, date } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.portal.consents.queryOptions());
  const job = useJob<R>();
  const [hasKey, setHasKey] = useState<boolean | null>(null);
  const [revokeMsg, setRevokeMsg] = useState<string | null>(null);
  useEffect(() => {
    void loadMemberKey().then((k) => setHasKey(k !== undefined));
  }, []);
  useEffect(() => {
    if (job.result) void queryClient.invalidateQueries({ queryKey: trpc.portal.consents.queryKey() });
  }, [job.result, queryClient, trpc]);
  const revoke = async (reference: string) => {
    try {
      const r = await runJob({ op: "revoke", references: [reference] });
      if (r.op === "revoke") setRevokeMsg(t("consents.revoked", { count: r.revoked }));
      await queryClient.invalidateQueries({ queryKey: trpc.portal.consents.queryKey() });
    } catch (e) {
      setRevokeMsg(t("common.error", { message: (e as Error).message }));
    }
  };
  return (
    <>
      <PageHeader title={t("consents.title")} explain={t("consents.explain")} />
      {hasKey === false ? <p className="notice">{t("keys.needed")}</p> : null}
      <Card>
        <UploadJob
          job={job}
          stage="progress.consents"
          start={t("consents.import")}
          startTestId="consents-start"
          canStart={hasKey === true}
          onStart={(csv) => void job.run({ op: "consents", csv })}
          done={(r) => (
            <p className="success" data-testid="consents-done">
              {t("consents.done", { count: r.registered })}
            </p>
          )}
        />
      </Card>
      <Card wide>
        {revokeMsg ? <p className="success">{revokeMsg}</p> : null}
        {list.error ? <ErrorText message={list.error.message} /> : null}
        {list.data && list.data.length === 0 ? <p className="muted">{t("consents.empty")}</p> : null}
        {list.data && list.data.length > 0 ? (
          <table className="table" data-testid="consent-list">
            <thead>
              <tr>
                <th>{t("consents.col.reference")}</th>
                <th>{t("consents.col.tag")}</th>
                <th>{t("consents.col.purpose")}</th>
                <th>{t("consents.col.basis")}</th>
                <th>{t("consents.col.expires")}</th>
                <th>{t("consents.col.status")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.data.slice(0, 500).map((c) => (
                <tr key={c.id}>
                  <td>{c.reference}</td>
                  <td>
                    <code>{c.tagPrefix}</code>
                  </td>
                  <td>{t(`purpose.${c.purpose}` as MessageKey)}</td>
                  <td>{t(`basis.${c.legalBasis}` as MessageKey)}</td>
                  <td>{date(c.expiresAt)}</td>
                  <td>
                    <Badge tone={c.status === "active" ? "ok" : c.status === "expired" ? "warn" : "muted"}>
                      {t(`common.${c.status}` as MessageKey)}
                    </Badge>
                  </td>
                  <td>
                    {c.status === "active" && hasKey ? (
                      <button type="button" className="ghost danger" onClick={() => void revoke(c.reference)}>
                        {t("consents.revoke")}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
    </>
  );
}
