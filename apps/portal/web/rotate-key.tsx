"use client";
/**
 * Rotating a key from the browser (ADRs 0068, 0037): a confirmation, then the crypto worker's job — it makes
 * the new key, has the hub switch to it with the new key's proof of possession, and replaces the stored key;
 * the new key file (the only copy of the new seed) is downloaded. One card for the member's signing key
 * (`/member`) and the member DPO's key (`/dpo`).
 */
import { useState } from "react";
import type { MessageKey } from "./i18n.ts";
import { useI18n } from "./i18n-client.tsx";
import type { WorkerResult } from "./protocol.ts";
import { rememberReceipts } from "./receipts.ts";
import { Card, downloadFile, ErrorText } from "./ui.tsx";
import { runJob } from "./worker-client.ts";

type Rotated = Extract<WorkerResult, { op: "rotate-key" | "rotate-dpo-key" }>;

export interface RotateKeyCardProps {
  op: Rotated["op"];
  /** The downloaded key file's name and type. */
  file: { name: string; type: string };
  /** The card's texts: `${prefix}.title`, `.explain`, `.start`, `.confirm`, `.running`, `.done`, `.download`, `.notStored`. */
  prefix: "member.rotate" | "dpo.rotate";
  /** Test ids are `${testIds}-start | -confirm | -done | -download`. */
  testIds: string;
  onRotated?: (r: Rotated) => void;
}

export function RotateKeyCard({ op, file, prefix, testIds, onRotated }: RotateKeyCardProps) {
  const { t, dateTime } = useI18n();
  const text = (k: string) => `${prefix}.${k}` as MessageKey;
  const [step, setStep] = useState<"idle" | "confirm" | "running">("idle");
  const [done, setDone] = useState<Rotated | null>(null);
  const [error, setError] = useState<string | null>(null);
  const save = (r: Rotated) => downloadFile(file.name, r.keyFile, file.type);
  const rotate = async () => {
    setStep("running");
    setError(null);
    try {
      const r = (await runJob({ op })) as Rotated;
      rememberReceipts(r.receipts);
      setDone(r);
      save(r);
      onRotated?.(r);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setStep("idle");
    }
  };
  return (
    <Card title={t(text("title"))} wide>
      <p className="muted">{t(text("explain"))}</p>
      {error ? <ErrorText message={error} /> : null}
      {done ? (
        <div data-testid={`${testIds}-done`} data-old={done.oldFingerprint} data-new={done.newFingerprint}>
          <p>
            {t(text("done"), {
              time: dateTime(done.rotatedAt),
              old: `${done.oldFingerprint.slice(0, 12)}…`,
              new: `${done.newFingerprint.slice(0, 12)}…`,
            })}
          </p>
          {done.stored ? null : <ErrorText message={t(text("notStored"))} />}
          <button type="button" data-testid={`${testIds}-download`} onClick={() => save(done)}>
            {t(text("download"))}
          </button>
        </div>
      ) : null}
      {step === "idle" ? (
        <button type="button" data-testid={`${testIds}-start`} onClick={() => setStep("confirm")}>
          {t(text("start"))}
        </button>
      ) : step === "confirm" ? (
        <div className="role-edit">
          <button
            type="button"
            className="primary danger"
            data-testid={`${testIds}-confirm`}
            onClick={rotate}
          >
            {t(text("confirm"))}
          </button>
          <button type="button" onClick={() => setStep("idle")}>
            {t("member.cancel")}
          </button>
        </div>
      ) : (
        <p className="muted">{t(text("running"))}</p>
      )}
    </Card>
  );
}
