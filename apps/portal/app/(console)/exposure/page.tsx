"use client";
/**
 * Exposure results, read and charted in this browser from the CLI's result file (`relink exposure
 * applicants.csv --out results.csv`): totals across other lenders per applicant, days-past-due histograms,
 * and an explanation for every row without figures. The query itself (BFV keys, decryption) runs in the
 * member's node in this release; running it in the browser's worker is future work (README).
 */
import { useMemo, useState } from "react";
import { parseCsv } from "../../../web/csv.ts";
import { Histogram } from "../../../web/histogram.tsx";
import type { MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { Badge, Card, CsvDrop, ErrorText, PageHeader } from "../../../web/ui.tsx";

const DPD = [
  ["dpd_current", "0"],
  ["dpd_1_29", "1–29"],
  ["dpd_30_59", "30–59"],
  ["dpd_60_89", "60–89"],
  ["dpd_90_plus", "90+"],
] as const;

type Row = Record<string, string>;

export default function ExposurePage() {
  const { t } = useI18n();
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number>(0);
  const refColumn = useMemo(() => (rows?.[0] ? Object.keys(rows[0])[0]! : "applicant_ref"), [rows]);
  const answered = (rows ?? []).filter((r) => r["status"] === "ok");
  const num = (r: Row, k: string) => Number(r[k] ?? 0) || 0;
  const portfolio = DPD.map(([k, label]) => ({ label, value: answered.reduce((s, r) => s + num(r, k), 0) }));
  const current = rows?.[selected];
  const why = (status: string): string =>
    status === "suppressed" ? t("exposure.suppressed") : t(`exposure.why.${status}` as MessageKey);
  return (
    <>
      <PageHeader title={t("exposure.title")} explain={t("exposure.explain")} />
      <Card>
        <p className="muted">{t("exposure.load")}</p>
        <CsvDrop
          onFile={(_name, text) => {
            try {
              setError(null);
              setRows(parseCsv(text).map((r, i) => ({ ...r, __row: String(i) })));
              setSelected(0);
            } catch (e) {
              setError((e as Error).message);
            }
          }}
        />
        {error ? <ErrorText message={error} /> : null}
      </Card>
      {rows ? (
        <>
          <Card title={`${t("exposure.portfolio")} · ${answered.length}`}>
            <Histogram title={t("exposure.histogram")} bins={portfolio} />
          </Card>
          <Card title={t("exposure.applicants")} wide>
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
                  >
                    <td>{r[refColumn]}</td>
                    <td>
                      <Badge
                        tone={r["status"] === "ok" ? "ok" : r["status"] === "suppressed" ? "muted" : "warn"}
                      >
                        {t(`exposure.status.${r["status"] ?? "missing"}` as MessageKey)}
                      </Badge>
                      {r["status"] !== "ok" ? (
                        <div className="muted small">{why(r["status"] ?? "missing")}</div>
                      ) : null}
                    </td>
                    <td className="num">
                      {r["status"] === "ok" ? num(r, "active_lenders") : t("common.none")}
                    </td>
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
      ) : null}
    </>
  );
}
