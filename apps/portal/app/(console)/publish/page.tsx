"use client";
import { useI18n } from "../../../web/i18n-client.tsx";
import { UploadJob, useHasMemberKey, useJob } from "../../../web/job.tsx";
import type { WorkerResult } from "../../../web/protocol.ts";
import { Card, PageHeader } from "../../../web/ui.tsx";

type R = Extract<WorkerResult, { op: "publish" }>;

export default function PublishPage() {
  const { t } = useI18n();
  const job = useJob<R>();
  const hasKey = useHasMemberKey();
  return (
    <>
      <PageHeader title={t("publish.title")} explain={t("publish.explain")} />
      {hasKey === false ? <p className="notice">{t("keys.needed")}</p> : null}
      <Card>
        <UploadJob
          job={job}
          stage="progress.publish"
          start={t("publish.start")}
          startTestId="publish-start"
          canStart={hasKey === true}
          onStart={(csv) => void job.run({ op: "publish", csv })}
          done={(r) => (
            <p className="success" data-testid="publish-done">
              {t("publish.done", { records: r.records, batches: r.batches })}
            </p>
          )}
        />
      </Card>
    </>
  );
}
