"use client";
import { formatCsv } from "@relink/sdk/csv";
/**
 * Cross-lender exposure for the risk analyst. The query runs in this browser's crypto worker: applicants'
 * resident IDs become tags through the key holders, a fresh BFV key pair is made there (node-seal WASM), the
 * signed query goes to the hub, and only the worker can decrypt the re-randomised sum (web/crypto.worker.ts).
 * Per applicant: totals across the other lenders, a days-past-due histogram, and an explanation for every
 * row without figures. Portfolio: the hub's noisy totals with their 95 % intervals. A result file of the CLI
 * (`relink exposure applicants.csv --out results.csv`) can still be opened and charted the same way.
 */
import { useEffect, useMemo, useState } from "react";
import { parseCsv } from "../../../web/csv.ts";
import { Histogram } from "../../../web/histogram.tsx";
import type { MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { UploadJob, useJob } from "../../../web/job.tsx";
import { loadMemberKey } from "../../../web/keys.ts";
import type { WorkerResult } from "../../../web/protocol.ts";
import {
  Badge,
  Card,
  CsvDrop,
  downloadFile,
  ErrorText,
  PageHeader,
  PurposeAndCase,
} from "../../../web/ui.tsx";

const DPD = [
  ["dpd_current", "0"],
  ["dpd_1_29", "1–29"],
  ["dpd_30_59", "30–59"],
  ["dpd_60_89", "60–89"],
  ["dpd_90_plus", "90+"],
] as const;
const FEATURES = [
  "active_lenders",
  "outstanding",
  "dpd_current",
  "dpd_1_29",
  "dpd_30_59",
  "dpd_60_89",
  "dpd_90_plus",
  "opened_30d",
  "opened_90d",
] as const;
const PURPOSES = ["credit_assessment", "fraud_prevention", "debt_collection", "legal_claim"] as const;
const STATUSES = ["ok", "suppressed", "no_consent", "budget_exhausted", "missing"] as const;

type R = Extract<WorkerResult, { op: "exposure" }>;
/** One applicant row as the tables and charts read it (a CSV row of the CLI's format, or the worker's). */
type Row = Record<string, string>;

function rowsOf(r: R): Row[] {
  return r.results.map((x) => ({
    __row: String(x.row),
    applicant_ref: x.ref,
    status: x.status,
    ...Object.fromEntries(FEATURES.map((f) => [f, x.features ? String(x.features[f]) : ""])),
  }));
}

export default function ExposurePage() {
  const { t } = useI18n();
  const job = useJob<R>();
  const [mode, setMode] = useState<"subjects" | "aggregate">("subjects");
  const [purpose, setPurpose] = useState<(typeof PURPOSES)[number]>("credit_assessment");
  const [caseId, setCaseId] = useState("");
  const [hasKey, setHasKey] = useState<boolean | null>(null);
  const [fileRows, setFileRows] = useState<Row[] | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  useEffect(() => {
    void loadMemberKey().then((k) => setHasKey(k !== undefined));
  }, []);
  const queried = job.result?.mode === "subjects" ? rowsOf(job.result) : null;
  const download = () => {
    // Figures as numbers (the CLI's `--out` format); references and statuses as text.
    const rows = (queried ?? []).map((r) => ({
      applicant_ref: r["applicant_ref"],
      status: r["status"],
      ...Object.fromEntries(FEATURES.map((f) => [f, r[f] ? Number(r[f]) : undefined])),
    }));
    const columns = ["applicant_ref", "status", ...FEATURES].map((key) => ({ key }));
    downloadFile(`relink-exposure-${caseId || "results"}.csv`, formatCsv(columns, rows));
  };
  return (
    <>
      <PageHeader title={t("exposure.title")} explain={t("exposure.explain")} />
      {hasKey === false ? <p className="notice">{t("keys.needed")}</p> : null}
      <Card title={t("exposure.query")}>
        <p className="muted">{t("exposure.queryHelp")}</p>
        <PurposeAndCase
          purposes={PURPOSES}
          purpose={purpose}
          onPurpose={setPurpose}
          caseId={caseId}
          onCaseId={setCaseId}
          purposeLabel={t("exposure.purpose")}
          caseLabel={t("exposure.case")}
          purposeTestId="exposure-purpose"
        >
          <label>
            {t("exposure.mode")}
            <select
              value={mode}
              onChange={(e) => setMode(e.target.value as "subjects" | "aggregate")}
              data-testid="exposure-mode"
            >
              <option value="subjects">{t("exposure.mode.subjects")}</option>
              <option value="aggregate">{t("exposure.mode.aggregate")}</option>
            </select>
          </label>
        </PurposeAndCase>
        <UploadJob
          job={job}
          stage="progress.exposure"
          start={t("exposure.start")}
          startTestId="exposure-start"
          dropTestId="exposure-file"
          canStart={hasKey === true && caseId.trim() !== ""}
          onStart={(csv) =>
            void job.run({
              op: "exposure",
              csv,
              mode,
              purpose,
              caseId: caseId.trim(),
              refColumn: "applicant_ref",
            })
          }
        />
      </Card>
      {job.result ? <QueryOutcome result={job.result} /> : null}
      {job.result?.aggregate ? <Aggregate result={job.result} /> : null}
      {queried && queried.length > 0 ? <Applicants rows={queried} onDownload={download} /> : null}
      <Card title={t("exposure.fromCli")}>
        <CsvDrop
          onFile={(_name, text) => {
            try {
              setFileError(null);
              setFileRows(parseCsv(text).map((r, i) => ({ ...r, __row: String(i) })));
            } catch (e) {
              setFileError((e as Error).message);
            }
          }}
        />
        {fileError ? <ErrorText message={fileError} /> : null}
      </Card>
      {fileRows ? <Applicants rows={fileRows} /> : null}
    </>
  );
}

/** Who answered, k, counts per status; and why an answer could not be decrypted, if so. */
function QueryOutcome({ result }: { result: R }) {
  const { t } = useI18n();
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<(typeof STATUSES)[number], number>;
  for (const r of result.results) counts[r.status]++;
  return (
    <Card>
      <p data-testid="exposure-summary">
        {t("exposure.summary", {
          responded: result.responded,
          invited: result.invited,
          k: result.k ?? t("common.none"),
          cached: result.cached ? t("exposure.cached") : "",
        })}
      </p>
      <p data-testid="exposure-counts">{t("exposure.counts", counts)}</p>
      {result.decrypted ? null : (
        <p className="error" data-testid="exposure-undecryptable">
          {t("exposure.undecryptable", { reason: result.undecryptable ?? "" })}
        </p>
      )}
    </Card>
  );
}

/** Portfolio mode: the hub's noisy totals, post-processed, with what the noise means. */
function Aggregate({ result }: { result: R }) {
  const { t } = useI18n();
  const a = result.aggregate!;
  const bins = DPD.map(([k, label]) => ({
    label,
    value: a.figures.find((f) => f.feature === k)?.total ?? 0,
  }));
  return (
    <Card title={t("exposure.aggregateTitle", { answered: a.answered })} wide>
      <p className="muted">{t("exposure.aggregateExplain", { epsilon: a.epsilon ?? t("common.none") })}</p>
      <Histogram title={t("exposure.histogram")} bins={bins} />
      <table className="table" data-testid="exposure-aggregate">
        <thead>
          <tr>
            <th>{t("exposure.col.feature")}</th>
            <th className="num">{t("exposure.col.total")}</th>
            <th className="num">{t("exposure.col.ci95")}</th>
            <th className="num">{t("exposure.col.noise")}</th>
          </tr>
        </thead>
        <tbody>
          {a.figures.map((f) => (
            <tr
              key={f.feature}
              data-feature={f.feature}
              data-total={f.total}
              data-ci95={`${f.ci95_low},${f.ci95_high}`}
            >
              <td>{t(`exposure.feature.${f.feature}` as MessageKey)}</td>
              <td className="num">{f.total.toLocaleString()}</td>
              <td className="num">
                [{f.ci95_low.toLocaleString()}, {f.ci95_high.toLocaleString()}]
              </td>
              <td className="num">{f.noise_scale.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

/** Per-applicant figures (from the browser's query or a CLI result file), charts and explanations. */
function Applicants({ rows, onDownload }: { rows: Row[]; onDownload?: () => void }) {
  const { t } = useI18n();
  const [selected, setSelected] = useState<number>(0);
  const refColumn = useMemo(() => {
    const first = rows[0] ? Object.keys(rows[0]).find((k) => k !== "__row") : undefined;
    return first ?? "applicant_ref";
  }, [rows]);
  const answered = rows.filter((r) => r["status"] === "ok");
  const num = (r: Row, k: string) => Number(r[k] ?? 0) || 0;
  const portfolio = DPD.map(([k, label]) => ({ label, value: answered.reduce((s, r) => s + num(r, k), 0) }));
  const current = rows[selected];
  const why = (status: string): string =>
    status === "suppressed" ? t("exposure.suppressed") : t(`exposure.why.${status}` as MessageKey);
  return (
    <>
      <Card title={`${t("exposure.portfolio")} · ${answered.length}`}>
        <Histogram title={t("exposure.histogram")} bins={portfolio} />
      </Card>
      <Card title={t("exposure.applicants")} wide>
        {onDownload ? (
          <div className="results-head">
            <span />
            <button type="button" className="primary" onClick={onDownload} data-testid="exposure-download">
              {t("match.download")}
            </button>
          </div>
        ) : null}
        <table className="table" data-testid="exposure-table">
          <thead>
            <tr>
              <th>{t("exposure.col.ref")}</th>
              <th>{t("exposure.col.status")}</th>
              <th className="num">{t("exposure.col.lenders")}</th>
              <th className="num">{t("exposure.col.outstanding")}</th>
              <th className="num">{t("exposure.col.opened")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, 500).map((r, i) => (
              <tr
                key={r["__row"]}
                onClick={() => setSelected(i)}
                className={i === selected ? "selected" : ""}
                data-ref={r[refColumn]}
                data-status={r["status"]}
                data-figures={r["status"] === "ok" ? FEATURES.map((f) => `${f}=${num(r, f)}`).join(";") : ""}
              >
                <td>{r[refColumn]}</td>
                <td>
                  <Badge tone={r["status"] === "ok" ? "ok" : r["status"] === "suppressed" ? "muted" : "warn"}>
                    {t(`exposure.status.${r["status"] ?? "missing"}` as MessageKey)}
                  </Badge>
                  {r["status"] !== "ok" ? (
                    <div className="muted small">{why(r["status"] ?? "missing")}</div>
                  ) : null}
                </td>
                <td className="num">{r["status"] === "ok" ? num(r, "active_lenders") : t("common.none")}</td>
                <td className="num">
                  {r["status"] === "ok" ? num(r, "outstanding").toLocaleString() : t("common.none")}
                </td>
                <td className="num">
                  {r["status"] === "ok"
                    ? `${num(r, "opened_30d")} / ${num(r, "opened_90d")}`
                    : t("common.none")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      {current && current["status"] === "ok" ? (
        <Card title={`${t("exposure.histogram")} · ${current[refColumn]}`}>
          <Histogram
            title={t("exposure.histogram")}
            bins={DPD.map(([k, label]) => ({ label, value: num(current, k) }))}
          />
        </Card>
      ) : null}
    </>
  );
}
