"use client";
/** State of one worker job on a page: the chosen file, progress, result or error. */
import { useState } from "react";
import type { MessageKey, Translate } from "./i18n.ts";
import { useI18n } from "./i18n-client.tsx";
import type { WorkerResult } from "./protocol.ts";
import { rememberReceipts } from "./receipts.ts";
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

export function useJob<R extends WorkerResult>() {
  const { t } = useI18n();
  const [file, setFile] = useState<{ name: string; text: string; bytes: Uint8Array } | null>(null);
  const [progress, setProgress] = useState<{ stage: string; done: number; total: number } | null>(null);
  const [result, setResult] = useState<R | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (job: Parameters<typeof runJob>[0]) => {
    setBusy(true);
    setError(null);
    setResult(null);
    setProgress(null);
    try {
      const r = (await runJob(job, (stage, done, total) => setProgress({ stage, done, total }))) as R;
      if ("receipts" in r) rememberReceipts(r.receipts);
      setResult(r);
    } catch (e) {
      setError(csvRefusal((e as Error).message, t) ?? (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { file, setFile, progress, result, error, busy, run };
}
