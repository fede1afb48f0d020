"use client";
import { useEffect, useMemo, useState } from "react";
import { toExcelCsv } from "../../../web/csv.ts";
import type { MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { STAGE_LABEL, useJob } from "../../../web/job.tsx";
import { loadMemberKey } from "../../../web/keys.ts";
import type { WorkerResult } from "../../../web/protocol.ts";
import {
  Badge,
  Card,
  CsvDrop,
  countRows,
  ErrorText,
  PageHeader,
  Progress,
  UploadErrors,
} from "../../../web/ui.tsx";

type R = Extract<WorkerResult, { op: "match" }>;
const PURPOSES = ["debt_collection", "legal_claim", "fraud_prevention", "credit_assessment"] as const;

export default function MatchPage() {
  const { t, date } = useI18n();
  const job = useJob<R>();
  const [purpose, setPurpose] = useState<(typeof PURPOSES)[number]>("debt_collection");
  const [caseId, setCaseId] = useState("");
  const [hasKey, setHasKey] = useState<boolean | null>(null);
  useEffect(() => {
    void loadMemberKey().then((k) => setHasKey(k !== undefined));
  }, []);
  const summary = useMemo(() => {
    const m = job.result?.matches ?? [];
    return {
      matched: m.filter((x) => x.status === "matched").length,
      noMatch: m.filter((x) => x.status === "no_match").length,
      noConsent: m.filter((x) => x.status === "no_consent").length,
    };
  }, [job.result]);
  const download = () => {
    const rows = (job.result?.matches ?? []).flatMap((m) =>
      m.contacts.length === 0
        ? [[m.ref, m.status, "", "", "", "", "", ""]]
        : m.contacts.map((c) => [
            m.ref,
            m.status,
            c.kind,
            c.value,
            c.firstSeen,
            c.lastSeen,
            c.corroboration,
            c.confidence,
          ]),
    );
    const csv = toExcelCsv(
      ["debtor_ref", "status", "kind", "value", "first_seen", "last_seen", "corroboration", "confidence"],
      rows,
    );
    const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `relink-match-${caseId || "results"}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <>
      <PageHeader title={t("match.title")} explain={t("match.explain")} />
      {hasKey === false ? <p className="notice">{t("keys.needed")}</p> : null}
      <Card>
        <div className="form-row">
          <label>
            {t("match.purpose")}
            <select
              value={purpose}
              onChange={(e) => setPurpose(e.target.value as (typeof PURPOSES)[number])}
              data-testid="purpose"
            >
              {PURPOSES.map((p) => (
                <option key={p} value={p}>
                  {t(`purpose.${p}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("match.case")}
            <input
              value={caseId}
              onChange={(e) => setCaseId(e.target.value)}
              maxLength={100}
              data-testid="case-id"
            />
          </label>
        </div>
        <CsvDrop disabled={job.busy} onFile={(name, text, bytes) => job.setFile({ name, text, bytes })} />
        {job.file ? (
          <div className="file-line">
            <span data-testid="file-name">
              {t("upload.file", { name: job.file.name, count: countRows(job.file.text) })}
            </span>
            <button
              type="button"
              className="primary"
              disabled={job.busy || !hasKey || caseId.trim() === ""}
              data-testid="match-start"
              onClick={() =>
                void job.run({ op: "match", csv: job.file!.bytes, purpose, caseId: caseId.trim() })
              }
            >
              {t("match.start")}
            </button>
          </div>
        ) : null}
        {job.progress ? (
          <Progress
            label={t(STAGE_LABEL[job.progress.stage] ?? "progress.lookup")}
            done={job.progress.done}
            total={job.progress.total}
          />
        ) : null}
        {job.error ? <ErrorText message={job.error} /> : null}
        {job.result ? <UploadErrors errors={job.result.errors} /> : null}
      </Card>
      {job.result ? (
        <Card wide>
          <div className="results-head">
            <p data-testid="match-summary">{t("match.summary", summary)}</p>
            <button type="button" className="primary" onClick={download} data-testid="download">
              {t("match.download")}
            </button>
          </div>
          <table className="table" data-testid="results">
            <thead>
              <tr>
                <th>{t("match.col.ref")}</th>
                <th>{t("match.col.status")}</th>
                <th>{t("match.col.kind")}</th>
                <th>{t("match.col.value")}</th>
                <th>{t("match.col.lastSeen")}</th>
                <th className="num">{t("match.col.corroboration")}</th>
                <th className="num">{t("match.col.confidence")}</th>
              </tr>
            </thead>
            <tbody>
              {job.result.matches.slice(0, 500).flatMap((m) =>
                (m.contacts.length ? m.contacts : [null]).map((c, i) => (
                  <tr
                    key={`${m.ref}-${c ? `${c.kind}:${c.value}` : "none"}`}
                    className={i === 0 ? "group-start" : ""}
                  >
                    <td>{i === 0 ? m.ref : ""}</td>
                    <td>
                      {i === 0 ? (
                        <Badge
                          tone={m.status === "matched" ? "ok" : m.status === "no_match" ? "muted" : "warn"}
                        >
                          {t(`status.${m.status}` as MessageKey)}
                        </Badge>
                      ) : null}
                    </td>
                    <td>{c ? t(`kind.${c.kind}` as MessageKey) : ""}</td>
                    <td>{c?.value ?? ""}</td>
                    <td>{c ? date(`${c.lastSeen}T00:00:00+08:00`) : ""}</td>
                    <td className="num">{c?.corroboration ?? ""}</td>
                    <td className="num">{c?.confidence ?? ""}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </Card>
      ) : null}
    </>
  );
}
