"use client";
/**
 * The network DPO's opt-out registry (ADRs 0045, 0036): `relink admin opt-out` in this browser. A subject's
 * identifiers (typed, or the CLI's debtor CSV) go only to the crypto worker, which turns them into tags
 * through the key holders with the network-owned member's key; the page registers the tags with the request
 * reference (`portal.registerOptOuts`) and lists the registry by reference and count (`portal.optOuts`).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useI18n } from "../../../web/i18n-client.tsx";
import { inChunks, UploadJob, useHasMemberKey, useJob } from "../../../web/job.tsx";
import type { WorkerResult } from "../../../web/protocol.ts";
import { useTRPC } from "../../../web/trpc.ts";
import { Card, ErrorText, NO_SUBJECT, PageHeader, SubjectFields } from "../../../web/ui.tsx";

type Tagged = Extract<WorkerResult, { op: "opt-out-tags" }>;

export default function OptOutsPage() {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const registry = useQuery(trpc.portal.optOuts.queryOptions());
  const register = useMutation(trpc.portal.registerOptOuts.mutationOptions());
  const job = useJob<Tagged>();
  const [request, setRequest] = useState("");
  const [subject, setSubject] = useState(NO_SUBJECT);
  const [registered, setRegistered] = useState<number | null>(null);
  const hasKey = useHasMemberKey();
  const r = job.result;
  /** The worker computes the tags; they are registered here under the request reference, ≤ 1000 a call. */
  const start = async (j: Parameters<typeof job.run>[0]) => {
    setRegistered(null);
    const x = await job.run(j);
    if (!x || x.tags.length === 0) return;
    const n = await inChunks(
      x.tags,
      async (tags) =>
        (await register.mutateAsync({ epoch: x.epoch, tags, requestReference: request.trim() })).registered,
    );
    setRegistered(n);
    await qc.invalidateQueries({ queryKey: trpc.portal.optOuts.queryKey() });
  };
  const ready = hasKey === true && request.trim() !== "" && !job.busy && !register.isPending;
  return (
    <>
      <PageHeader title={t("optouts.title")} explain={t("optouts.explain")} />
      {hasKey === false ? <p className="notice">{t("optouts.keyNeeded")}</p> : null}
      {registry.error ? <ErrorText message={registry.error.message} /> : null}
      <Card wide>
        <div className="form-row">
          <label>
            {t("optouts.request")}
            <input
              value={request}
              maxLength={128}
              onChange={(e) => setRequest(e.target.value)}
              data-testid="optout-request"
            />
          </label>
        </div>
        <h3>{t("optouts.single")}</h3>
        <div className="form-row">
          <SubjectFields value={subject} onChange={setSubject} testIdPrefix="optout" />
        </div>
        <div className="file-line">
          <button
            type="button"
            className="primary"
            disabled={!ready}
            data-testid="optout-start"
            onClick={() => void start({ op: "opt-out-tags", subject }).catch(() => {})}
          >
            {t("optouts.start")}
          </button>
        </div>
        <h3>{t("optouts.file")}</h3>
        <UploadJob
          job={job}
          stage="progress.tags"
          start={t("optouts.startFile")}
          startTestId="optout-file-start"
          dropTestId="optout-file"
          canStart={ready}
          onStart={(csv) => void start({ op: "opt-out-tags", csv }).catch(() => {})}
          done={(x) =>
            x.tags.length === 0 ? (
              <p className="error" data-testid="optout-refused">
                {t("optouts.refused", { count: x.errors.length })}
              </p>
            ) : null
          }
        />
        {register.error ? <ErrorText message={register.error.message} /> : null}
        {registered !== null && r ? (
          <p className="success" data-testid="optout-done" data-registered={registered}>
            {t("optouts.done", { registered, subjects: r.subjects, tags: r.tags.length })}
          </p>
        ) : null}
      </Card>
      <Card title={t("optouts.registry", { total: registry.data?.total ?? 0 })} wide>
        <p className="muted">{t("optouts.registryExplain")}</p>
        {registry.data && registry.data.registrations.length === 0 ? (
          <p className="muted">{t("optouts.none")}</p>
        ) : null}
        {registry.data && registry.data.registrations.length > 0 ? (
          <table className="table" data-testid="optout-registry" data-total={registry.data.total}>
            <thead>
              <tr>
                <th>{t("optouts.col.request")}</th>
                <th>{t("optouts.col.time")}</th>
                <th className="num">{t("optouts.col.epoch")}</th>
                <th className="num">{t("optouts.col.tags")}</th>
              </tr>
            </thead>
            <tbody>
              {registry.data.registrations.map((x) => (
                <tr key={`${x.requestReference}-${x.registeredAt}`} data-request={x.requestReference}>
                  <td>
                    <code>{x.requestReference}</code>
                  </td>
                  <td>{dateTime(x.registeredAt)}</td>
                  <td className="num">{x.epoch}</td>
                  <td className="num">{x.tags}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
    </>
  );
}
