"use client";
import { useEffect, useState } from "react";
import { useI18n } from "../../../web/i18n-client.tsx";
import { STAGE_LABEL, useJob } from "../../../web/job.tsx";
import { loadMemberKey } from "../../../web/keys.ts";
import type { WorkerResult } from "../../../web/protocol.ts";
import { Card, CsvDrop, countRows, ErrorText, PageHeader, Progress, UploadErrors } from "../../../web/ui.tsx";

type R = Extract<WorkerResult, { op: "publish" }>;

export default function PublishPage() {
  const { t } = useI18n();
  const job = useJob<R>();
  const [hasKey, setHasKey] = useState<boolean | null>(null);
  useEffect(() => {
    void loadMemberKey().then((k) => setHasKey(k !== undefined));
  }, []);
  return (
    <>
      <PageHeader title={t("publish.title")} explain={t("publish.explain")} />
      {hasKey === false ? <p className="notice">{t("keys.needed")}</p> : null}
      <Card>
        <CsvDrop disabled={job.busy} onFile={(name, text, bytes) => job.setFile({ name, text, bytes })} />
        {job.file ? (
          <div className="file-line">
            <span data-testid="file-name">
              {t("upload.file", { name: job.file.name, count: countRows(job.file.text) })}
            </span>
            <button
              type="button"
              className="primary"
              disabled={job.busy || !hasKey}
              data-testid="publish-start"
              onClick={() => void job.run({ op: "publish", csv: job.file!.bytes })}
            >
              {t("publish.start")}
            </button>
          </div>
        ) : null}
        {job.progress ? (
          <Progress
            label={t(STAGE_LABEL[job.progress.stage] ?? "progress.publish")}
            done={job.progress.done}
            total={job.progress.total}
          />
        ) : null}
        {job.error ? <ErrorText message={job.error} /> : null}
        {job.result ? (
          <p className="success" data-testid="publish-done">
            {t("publish.done", { records: job.result.records, batches: job.result.batches })}
          </p>
        ) : null}
        {job.result ? <UploadErrors errors={job.result.errors} /> : null}
      </Card>
    </>
  );
}
