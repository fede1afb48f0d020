"use client";
/** State of one worker job on a page: the chosen file, progress, result or error. */
import { useState } from "react";
import type { MessageKey } from "./i18n.ts";
import type { WorkerResult } from "./protocol.ts";
import { rememberReceipts } from "./receipts.ts";
import { runJob } from "./worker-client.ts";

export const STAGE_LABEL: Record<string, MessageKey> = {
  tags: "progress.tags",
  publish: "progress.publish",
  lookup: "progress.lookup",
  consents: "progress.consents",
};

export function useJob<R extends WorkerResult>() {
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
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
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { file, setFile, progress, result, error, busy, run };
}
