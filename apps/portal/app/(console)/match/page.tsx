"use client";
import { MATCH_COLUMNS, matchRows, outColumns } from "@relink/sdk/columns";
import { formatCsv } from "@relink/sdk/csv";
import { useEffect, useMemo, useRef, useState } from "react";
import { recordCase } from "../../../web/cases.ts";
import type { MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { UploadJob, useJob } from "../../../web/job.tsx";
import { loadMemberKey } from "../../../web/keys.ts";
import type { WorkerResult } from "../../../web/protocol.ts";
import { Badge, Card, downloadFile, PageHeader, PurposeAndCase } from "../../../web/ui.tsx";

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
  // The case register (web/cases.ts): the DPO's subject report names the case of each lookup from it.
  const ranCase = useRef("");
  useEffect(() => {
    if (job.result?.caseCommitment) recordCase(ranCase.current, job.result.caseCommitment);
  }, [job.result]);
  const summary = useMemo(() => {
    const m = job.result?.matches ?? [];
    return {
      matched: m.filter((x) => x.status === "matched").length,
      noMatch: m.filter((x) => x.status === "no_match").length,
      noConsent: m.filter((x) => x.status === "no_consent").length,
    };
  }, [job.result]);
  const download = () => {
    if (!job.result) return;
    const { flat } = matchRows(job.result.matches, job.result.conduct);
    downloadFile(`relink-match-${caseId || "results"}.csv`, formatCsv(outColumns(MATCH_COLUMNS), flat));
  };
  return (
    <>
      <PageHeader title={t("match.title")} explain={t("match.explain")} />
      {hasKey === false ? <p className="notice">{t("keys.needed")}</p> : null}
      <Card>
        <PurposeAndCase
          purposes={PURPOSES}
          purpose={purpose}
          onPurpose={setPurpose}
          caseId={caseId}
          onCaseId={setCaseId}
          purposeLabel={t("match.purpose")}
          caseLabel={t("match.case")}
          purposeTestId="purpose"
        />
        <UploadJob
          job={job}
          stage="progress.lookup"
          start={t("match.start")}
          startTestId="match-start"
          canStart={hasKey === true && caseId.trim() !== ""}
          onStart={(csv) => {
            ranCase.current = caseId.trim();
            void job.run({ op: "match", csv, purpose, caseId: ranCase.current });
          }}
        />
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
