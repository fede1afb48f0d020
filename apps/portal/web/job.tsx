"use client";
import type { UploadError } from "@relink/sdk/browser";
/** State of one worker job on a page: the chosen file, progress, result or error. */
import { type ReactNode, useEffect, useState } from "react";
import type { MessageKey, Translate } from "./i18n.ts";
import { useI18n } from "./i18n-client.tsx";
import { loadMemberKey } from "./keys.ts";
import type { WorkerResult } from "./protocol.ts";
import { rememberReceipts } from "./receipts.ts";
import { CsvDrop, countRows, ErrorText, Progress, UploadErrors } from "./ui.tsx";
import { runJob } from "./worker-client.ts";

export const STAGE_LABEL: Record<string, MessageKey> = {
  tags: "progress.tags",
  publish: "progress.publish",
  lookup: "progress.lookup",
  consents: "progress.consents",
  he: "progress.he",
  exposure: "progress.exposure",
};

/** File-level CSV refusals (the SDK reader's CsvError codes), translated, with the reader's detail. */
const CSV_CODES = ["empty-file", "header-only", "encoding", "malformed-quote", "header", "too-many-rows"];
export function csvRefusal(message: string, t: Translate): string | undefined {
  const m = /^([a-z-]+): (.*)$/s.exec(message);
  if (!m || !CSV_CODES.includes(m[1]!)) return undefined;
  return `${t(`csv.${m[1]}` as MessageKey)} (${m[2]})`;
}

/** Whether this browser holds a member key (null until IndexedDB has answered). */
export function useHasMemberKey(): boolean | null {
  const [has, setHas] = useState<boolean | null>(null);
  useEffect(() => {
    void loadMemberKey().then((k) => setHas(k !== undefined));
  }, []);
  return has;
}

/** Registers tags with the hub ≤ 1000 a call (the wire limit), summing what each call reports. */
export async function inChunks(tags: readonly string[], call: (chunk: string[]) => Promise<number>) {
  let n = 0;
  for (let i = 0; i < tags.length; i += 1000) n += await call(tags.slice(i, i + 1000));
  return n;
}

export function useJob<R extends WorkerResult>() {
  const { t } = useI18n();
  const [file, setFile] = useState<{ name: string; text: string; bytes: Uint8Array } | null>(null);
  const [progress, setProgress] = useState<{ stage: string; done: number; total: number } | null>(null);
  const [result, setResult] = useState<R | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Runs the job; resolves to its result (undefined when it failed: `error` says why). */
  const run = async (job: Parameters<typeof runJob>[0]): Promise<R | undefined> => {
    setBusy(true);
    setError(null);
    setResult(null);
    setProgress(null);
    try {
      const r = (await runJob(job, (stage, done, total) => setProgress({ stage, done, total }))) as R;
      if ("receipts" in r) rememberReceipts(r.receipts);
      setResult(r);
      return r;
    } catch (e) {
      setError(csvRefusal((e as Error).message, t) ?? (e as Error).message);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { file, setFile, progress, result, error, busy, run };
}

export type Job<R extends WorkerResult> = ReturnType<typeof useJob<R>>;

/**
 * The upload block of the publish, consents and exposure pages (and match): a CSV drop zone, the chosen
 * file with its row count and the start button, the worker's progress, its error, a success line and the
 * per-row errors of the result.
 */
export function UploadJob<R extends Extract<WorkerResult, { errors: UploadError[] }>>({
  job,
  stage,
  start,
  startTestId,
  canStart,
  onStart,
  dropTestId,
  done,
}: {
  job: Job<R>;
  /** The progress label when the worker names no known stage. */
  stage: MessageKey;
  start: string;
  startTestId: string;
  /** Besides a file and no job running (a member key, a case id…). */
  canStart: boolean;
  onStart: (bytes: Uint8Array) => void;
  dropTestId?: string;
  /** The success line, given the result. */
  done?: (result: R) => ReactNode;
}) {
  const { t } = useI18n();
  return (
    <>
      <CsvDrop
        disabled={job.busy}
        {...(dropTestId ? { testId: dropTestId } : {})}
        onFile={(name, text, bytes) => job.setFile({ name, text, bytes })}
      />
      {job.file ? (
        <div className="file-line">
          <span data-testid="file-name">
            {t("upload.file", { name: job.file.name, count: countRows(job.file.text) })}
          </span>
          <button
            type="button"
            className="primary"
            disabled={job.busy || !canStart}
            data-testid={startTestId}
            onClick={() => onStart(job.file!.bytes)}
          >
            {start}
          </button>
        </div>
      ) : null}
      {job.progress ? (
        <Progress
          label={t(STAGE_LABEL[job.progress.stage] ?? stage)}
          done={job.progress.done}
          total={job.progress.total}
        />
      ) : null}
      {job.error ? <ErrorText message={job.error} /> : null}
      {job.result && done ? done(job.result) : null}
      {job.result ? <UploadErrors errors={job.result.errors} /> : null}
    </>
  );
}
