"use client";
/**
 * The data-protection officer's page (ADRs 0041, 0042, 0063): what `relink dpo subject-report |
 * consent-replay | export` do, in this browser. The subject's identifiers are typed here and go only to
 * the crypto worker, which normalises them and computes the tags through the key holders with the member
 * key (metered there, as the CLI's); the hub receives tags in a request signed with the DPO's own key,
 * which lives non-extractable in IndexedDB. Reports and replays are verified in the worker; the export
 * pack is built by the CLI's code and signed there.
 */
import { keyFingerprint, toBase64Url } from "@relink/protocol";
import { REPORT_COLUMNS, reportCsv, reportRows } from "@relink/sdk/dpo";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { caseRegister } from "../../../web/cases.ts";
import { DICTIONARIES, type MessageKey, translator } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { csvRefusal } from "../../../web/job.tsx";
import {
  importDpoKeyFile,
  loadDpoKey,
  loadMemberKey,
  removeDpoKey,
  type StoredDpoKey,
} from "../../../web/keys.ts";
import type { ReportCheck, WorkerResult } from "../../../web/protocol.ts";
import { RotateKeyCard } from "../../../web/rotate-key.tsx";
import { useTRPC } from "../../../web/trpc.ts";
import {
  Badge,
  Card,
  downloadFile,
  ErrorText,
  NO_SUBJECT,
  PageHeader,
  SubjectFields,
  UploadErrors,
} from "../../../web/ui.tsx";
import { runJob } from "../../../web/worker-client.ts";

const PINNED = "relink-log-key";
type Replay = Extract<WorkerResult, { op: "dpo-replay" }>;
type Pack = Extract<WorkerResult, { op: "dpo-export" }>;
type Report = Extract<WorkerResult, { op: "dpo-report" }>;

/** A dictionary key when there is one (purposes, legal bases), else the code as written. */
function label(t: (k: MessageKey) => string, prefix: string, code: string | null): string {
  if (!code) return "";
  const key = `${prefix}.${code}` as MessageKey;
  return key in DICTIONARIES.en ? t(key) : code;
}

export default function DpoPage() {
  const { t } = useI18n();
  const [dpoKey, setDpoKey] = useState<StoredDpoKey | undefined>();
  const [hasMemberKey, setHasMemberKey] = useState<boolean | null>(null);
  const [logKey, setLogKey] = useState("");
  const [keyError, setKeyError] = useState<string | null>(null);
  const trpc = useTRPC();
  const me = useQuery(trpc.portal.me.queryOptions());
  // A network DPO's key lives in the hub's configuration (rotated there); a member DPO rotates its own here.
  const isMemberDpo = me.data?.roles.some((g) => g.role === "member_dpo") ?? false;
  useEffect(() => {
    void loadDpoKey().then(setDpoKey);
    void loadMemberKey().then((k) => {
      setHasMemberKey(k !== undefined);
      setLogKey(k?.logKey ?? localStorage.getItem(PINNED) ?? "");
    });
  }, []);
  const ready = dpoKey !== undefined && logKey.trim() !== "";
  return (
    <>
      <PageHeader title={t("dpo.title")} explain={t("dpo.explain")} />
      <Card title={t("dpo.key.title")}>
        <p className="muted">{t("dpo.key.explain")}</p>
        {dpoKey ? (
          <div
            className="key-info"
            data-testid="dpo-key-info"
            data-public-key={toBase64Url(dpoKey.publicKey)}
          >
            <p>
              {t("keys.fingerprint")}:{" "}
              <code>{toBase64Url(keyFingerprint("ed25519", dpoKey.publicKey)).slice(0, 22)}…</code>
            </p>
            <button
              type="button"
              className="ghost danger"
              onClick={async () => {
                await removeDpoKey();
                setDpoKey(undefined);
              }}
            >
              {t("keys.remove")}
            </button>
          </div>
        ) : (
          <p className="muted">{t("dpo.key.none")}</p>
        )}
        <label className="file-button">
          {t("dpo.key.import")}
          <input
            type="file"
            data-testid="dpo-key-file"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              setKeyError(null);
              try {
                setDpoKey(await importDpoKeyFile(await file.text()));
              } catch (err) {
                setKeyError(t("dpo.key.error", { message: (err as Error).message }));
              }
              e.target.value = "";
            }}
          />
        </label>
        {keyError ? (
          <p className="error" role="alert" data-testid="dpo-key-error">
            {keyError}
          </p>
        ) : null}
        <label className="block">
          {t("dpo.logKey")}
          <input
            value={logKey}
            onChange={(e) => {
              setLogKey(e.target.value);
              localStorage.setItem(PINNED, e.target.value.trim());
            }}
            data-testid="dpo-log-key"
            spellCheck={false}
          />
        </label>
      </Card>
      {dpoKey && isMemberDpo ? (
        <RotateKeyCard
          op="rotate-dpo-key"
          file={{ name: "dpo.key", type: "text/plain" }}
          prefix="dpo.rotate"
          testIds="dpo-rotate"
          onRotated={() => void loadDpoKey().then(setDpoKey)}
        />
      ) : null}
      <SubjectReportCard ready={ready && hasMemberKey === true} logKey={logKey.trim()} />
      {hasMemberKey === false ? <p className="notice">{t("dpo.memberKeyNeeded")}</p> : null}
      <ReplayCard ready={ready} logKey={logKey.trim()} />
      <ExportCard ready={ready} logKey={logKey.trim()} />
    </>
  );
}

function SubjectReportCard({ ready, logKey }: { ready: boolean; logKey: string }) {
  const { t } = useI18n();
  const [request, setRequest] = useState("");
  const [subject, setSubject] = useState(NO_SUBJECT);
  const [report, setReport] = useState<Report | null>(null);
  const [recheck, setRecheck] = useState<ReportCheck | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    setReport(null);
    setRecheck(null);
    try {
      const r = await runJob({ op: "dpo-report", subject, requestReference: request.trim(), logKey });
      if (r.op === "dpo-report") setReport(r);
    } catch (e) {
      setError(csvRefusal((e as Error).message, t) ?? (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const check = report?.check ?? null;
  const rows = check ? reportRows(check.report, caseRegister(), check.verified) : [];
  const base = `relink-subject-report-${request.trim().replace(/[^A-Za-z0-9._-]/g, "_") || "report"}`;
  return (
    <Card title={t("dpo.report.title")} wide>
      <p className="muted">{t("dpo.report.explain")}</p>
      <div className="form-row no-print">
        <label>
          {t("dpo.report.request")}
          <input
            value={request}
            onChange={(e) => setRequest(e.target.value)}
            maxLength={200}
            data-testid="dpo-request"
          />
        </label>
        <SubjectFields value={subject} onChange={setSubject} testIdPrefix="dpo" />
      </div>
      <div className="file-line no-print">
        <button
          type="button"
          className="primary"
          disabled={busy || !ready || request.trim() === ""}
          data-testid="dpo-report-start"
          onClick={() => void run()}
        >
          {t("dpo.report.start")}
        </button>
      </div>
      {error ? <ErrorText message={error} /> : null}
      {report ? <UploadErrors errors={report.errors} /> : null}
      {check ? (
        <>
          <ReportStatus check={check} testId="dpo-report-status" />
          <div className="results-head no-print">
            <p data-testid="dpo-report-summary">
              {t("dpo.report.summary", { count: check.report.entries.length })}
            </p>
            <div className="page-actions">
              <button
                type="button"
                data-testid="dpo-report-csv"
                onClick={() => downloadFile(`${base}.csv`, reportCsv(rows))}
              >
                {t("dpo.report.csv")}
              </button>
              <button
                type="button"
                data-testid="dpo-report-json"
                onClick={() =>
                  downloadFile(
                    `${base}.json`,
                    `${JSON.stringify(check.report, null, 2)}\n`,
                    "application/json;charset=utf-8",
                  )
                }
              >
                {t("dpo.report.json")}
              </button>
              <button type="button" data-testid="dpo-report-print" onClick={() => window.print()}>
                {t("dpo.report.print")}
              </button>
            </div>
          </div>
          <ReportTable check={check} rows={rows} />
          <div className="no-print">
            <label className="file-button">
              {t("dpo.report.recheck")}
              <input
                type="file"
                accept=".json,application/json"
                data-testid="dpo-verify-file"
                onChange={async (e) => {
                  const file = e.target.files?.[0];
                  if (!file) return;
                  setRecheck(null);
                  setError(null);
                  try {
                    const r = await runJob({
                      op: "dpo-verify",
                      reportJson: await file.text(),
                      tags: check.tags,
                      logKey,
                    });
                    if (r.op === "dpo-verify") setRecheck(r);
                  } catch (err) {
                    setError((err as Error).message);
                  }
                  e.target.value = "";
                }}
              />
            </label>
            {recheck ? <ReportStatus check={recheck} testId="dpo-verify-status" /> : null}
          </div>
        </>
      ) : null}
    </Card>
  );
}

/** Verified, or loudly not: every problem with its entry. */
function ReportStatus({ check, testId }: { check: ReportCheck; testId: string }) {
  const { t } = useI18n();
  return check.verified ? (
    <p className="success" data-testid={testId} data-ok="true">
      {t("dpo.report.verified", { count: check.report.entries.length })}
    </p>
  ) : (
    <div className="error rejected" role="alert" data-testid={testId} data-ok="false">
      <strong>{t("dpo.report.rejected")}</strong>
      <ul>
        {check.problems.map((p) => (
          <li key={`${p.entry}-${p.reason}`}>
            {t("dpo.report.problem", { entry: String(p.entry), reason: p.reason })}
          </li>
        ))}
      </ul>
    </div>
  );
}

const SHOWN = REPORT_COLUMNS.filter((c) => c !== "case_commitment");
const HEAD: Record<(typeof SHOWN)[number], MessageKey> = {
  leaf_index: "dpo.col.leaf",
  time_utc8: "dpo.col.time",
  event: "dpo.col.event",
  member: "dpo.col.member",
  member_name: "dpo.col.memberName",
  purpose: "dpo.col.purpose",
  legal_basis: "dpo.col.basis",
  case_reference: "dpo.col.case",
  consent_references: "dpo.col.consents",
  decision: "dpo.col.decision",
  decision_reason: "dpo.col.reason",
  subjects_in_request: "dpo.col.subjects",
  results_returned: "dpo.col.results",
  receipt_verified: "dpo.col.receipt",
};
const ZH = translator("zh-Hans");
const EN = translator("en");

/**
 * The entries; printed with a bilingual (中文 / English) heading and column names whatever the page's
 * language (globals.css `@media print`).
 */
function ReportTable({ check, rows }: { check: ReportCheck; rows: ReturnType<typeof reportRows> }) {
  const { t } = useI18n();
  const r = check.report;
  const scope = r.scope.kind === "member" ? r.scope.slug : EN("dpo.print.network");
  return (
    <div className="dpo-report">
      <div className="print-only">
        <h1>
          {ZH("dpo.print.title")}
          <br />
          <small>{EN("dpo.print.title")}</small>
        </h1>
        <p>
          {ZH("dpo.report.request")} / {EN("dpo.report.request")}: <b>{r.requestReference}</b> · {scope} ·{" "}
          {r.generatedAt}
        </p>
        <p>
          {check.verified
            ? `${ZH("dpo.print.verified")} ${EN("dpo.print.verified")}`
            : `${ZH("dpo.report.rejected")} ${EN("dpo.report.rejected")}`}
        </p>
      </div>
      <table className="table compact" data-testid="dpo-report-table">
        <thead>
          <tr>
            {SHOWN.map((c) => (
              <th key={c}>
                <span className="no-print">{t(HEAD[c])}</span>
                <span className="print-only">
                  {ZH(HEAD[c])}
                  <br />
                  {EN(HEAD[c])}
                </span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr
              key={row.leaf_index}
              data-index={row.leaf_index}
              data-event={row.event}
              data-verified={check.verified ? "true" : "false"}
            >
              {SHOWN.map((c) => (
                <td key={c}>
                  {c === "receipt_verified" ? (
                    <Badge tone={check.verified ? "ok" : "bad"}>
                      {check.verified ? t("common.yes") : t("common.no")}
                    </Badge>
                  ) : c === "purpose" ? (
                    label(t, "purpose", r.entries[i]!.purpose)
                  ) : c === "legal_basis" ? (
                    label(t, "basis", r.entries[i]!.legalBasis)
                  ) : (
                    row[c]
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">{t("dpo.report.namesNote")}</p>
    </div>
  );
}

function ReplayCard({ ready, logKey }: { ready: boolean; logKey: string }) {
  const { t, dateTime } = useI18n();
  const [index, setIndex] = useState("");
  const [result, setResult] = useState<Replay | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const r = await runJob({ op: "dpo-replay", index: Number(index), logKey });
      if (r.op === "dpo-replay") setResult(r);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const r = result?.replay;
  return (
    <Card title={t("dpo.replay.title")} wide>
      <p className="muted">{t("dpo.replay.explain")}</p>
      <div className="form-row no-print">
        <label>
          {t("dpo.replay.index")}
          <input
            type="number"
            min={0}
            step={1}
            value={index}
            onChange={(e) => setIndex(e.target.value)}
            data-testid="dpo-replay-index"
          />
        </label>
      </div>
      <div className="file-line no-print">
        <button
          type="button"
          className="primary"
          disabled={busy || !ready || !/^\d+$/.test(index)}
          data-testid="dpo-replay-start"
          onClick={() => void run()}
        >
          {t("dpo.replay.start")}
        </button>
      </div>
      {error ? (
        <div data-testid="dpo-replay-error">
          <ErrorText message={error} />
        </div>
      ) : null}
      {result && r ? (
        <div data-testid="dpo-replay-result" data-covered={r.covered} data-subjects={r.subjects}>
          {result.receiptProblem ? (
            <p className="error" role="alert" data-testid="dpo-replay-receipt" data-ok="false">
              {t("dpo.replay.receiptBad", { reason: result.receiptProblem })}
            </p>
          ) : (
            <p className="success" data-testid="dpo-replay-receipt" data-ok="true">
              {t("dpo.replay.receiptOk")}
            </p>
          )}
          <p data-testid="dpo-replay-summary">
            {t("dpo.replay.summary", {
              index: r.index,
              event: r.event,
              member: r.member ? `${r.member.displayName} (${r.member.slug})` : "—",
              time: r.timeUtc8,
              purpose: label(t, "purpose", r.purpose) || "—",
              covered: r.covered,
              subjects: r.subjects,
            })}
          </p>
          {r.consistentWithLeaf === false ? (
            <p className="error" role="alert">
              {t("dpo.replay.inconsistent")}
            </p>
          ) : null}
          {r.consents.length > 0 ? (
            <table className="table compact" data-testid="dpo-replay-table">
              <thead>
                <tr>
                  <th>{t("dpo.replay.col.position")}</th>
                  <th>{t("dpo.col.consents")}</th>
                  <th>{t("dpo.col.purpose")}</th>
                  <th>{t("dpo.col.basis")}</th>
                  <th>{t("dpo.replay.col.registered")}</th>
                  <th>{t("dpo.replay.col.revoked")}</th>
                  <th>{t("dpo.replay.col.covered")}</th>
                </tr>
              </thead>
              <tbody>
                {r.consents.map((c) => (
                  <tr
                    key={`${c.position}-${c.consentId}-${c.revision}`}
                    data-covered={String(c.coveredAtQueryTime)}
                  >
                    <td>{c.position}</td>
                    <td>{c.reference}</td>
                    <td>{label(t, "purpose", c.purpose)}</td>
                    <td>{label(t, "basis", c.legalBasis)}</td>
                    <td>{dateTime(c.registeredAt)}</td>
                    <td>{c.revokedAt ? dateTime(c.revokedAt) : "—"}</td>
                    <td>
                      <Badge tone={c.coveredAtQueryTime ? "ok" : "bad"}>
                        {c.coveredAtQueryTime
                          ? t("dpo.replay.covered")
                          : t("dpo.replay.notCovered", { reasons: c.reasons.join(", ") })}
                      </Badge>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
    </Card>
  );
}

function ExportCard({ ready, logKey }: { ready: boolean; logKey: string }) {
  const { t } = useI18n();
  const [from, setFrom] = useState("0");
  const [to, setTo] = useState("");
  const [pipia, setPipia] = useState("");
  const [pack, setPack] = useState<Pack | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const save = (p: Pack) =>
    downloadFile(`${p.name}.tar`, p.archive as Uint8Array<ArrayBuffer>, "application/x-tar");
  const run = async () => {
    setBusy(true);
    setError(null);
    setPack(null);
    try {
      const r = await runJob({
        op: "dpo-export",
        from: Number(from),
        ...(to.trim() ? { to: Number(to) } : {}),
        pipiaReference: pipia.trim(),
        logKey,
      });
      if (r.op === "dpo-export") {
        setPack(r);
        save(r);
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t("dpo.export.title")} wide>
      <p className="muted">{t("dpo.export.explain")}</p>
      <div className="form-row no-print">
        <label>
          {t("dpo.export.from")}
          <input
            type="number"
            min={0}
            value={from}
            onChange={(e) => setFrom(e.target.value)}
            data-testid="dpo-export-from"
          />
        </label>
        <label>
          {t("dpo.export.to")}
          <input
            type="number"
            min={1}
            value={to}
            onChange={(e) => setTo(e.target.value)}
            data-testid="dpo-export-to"
          />
        </label>
        <label>
          {t("dpo.export.pipia")}
          <input
            value={pipia}
            onChange={(e) => setPipia(e.target.value)}
            maxLength={200}
            data-testid="dpo-export-pipia"
          />
        </label>
      </div>
      <div className="file-line no-print">
        <button
          type="button"
          className="primary"
          disabled={busy || !ready || pipia.trim() === "" || !/^\d+$/.test(from) || !/^\d*$/.test(to.trim())}
          data-testid="dpo-export-start"
          onClick={() => void run()}
        >
          {t("dpo.export.start")}
        </button>
      </div>
      {error ? <ErrorText message={error} /> : null}
      {pack ? (
        <div data-testid="dpo-export-done" data-signer={pack.signerPublicKey} data-name={pack.name}>
          <p className="success">
            {t("dpo.export.done", { leaves: pack.leaves, from: pack.from, to: pack.to })}
          </p>
          <p>
            {t("dpo.export.signer")}: <code>{pack.signerPublicKey}</code>
          </p>
          <p className="muted">{t("dpo.export.howto")}</p>
          <pre className="command">
            {`tar -xf ${pack.name}.tar && cd ${pack.name} && node verify.mjs --signer-key ${pack.signerPublicKey} --log-key '${logKey}'`}
          </pre>
          <button type="button" data-testid="dpo-export-download" onClick={() => save(pack)}>
            {t("dpo.export.download")}
          </button>
        </div>
      ) : null}
    </Card>
  );
}
