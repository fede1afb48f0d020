"use client";
/**
 * The network administrator's abuse controls (ADRs 0045, 0036): alerts and the sanctions ladder per member,
 * with the reinstate action, and honeytokens planted from a contacts CSV. The list polls the hub
 * (`portal.alerts`); honeytoken records are published and tagged in the crypto worker with the network-owned
 * member's key, and only their tags are registered (`portal.plantHoneytokens`).
 */
import type { AlertView, SanctionView } from "@relink/protocol";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { DICTIONARIES, type MessageKey } from "../../../web/i18n.ts";
import { useI18n } from "../../../web/i18n-client.tsx";
import { inChunks, UploadJob, useHasMemberKey, useJob } from "../../../web/job.tsx";
import type { WorkerResult } from "../../../web/protocol.ts";
import { useTRPC } from "../../../web/trpc.ts";
import { Badge, Card, ErrorText, PageHeader } from "../../../web/ui.tsx";

/** How often the alert list asks the hub again (a page cadence, not a wait: tests poll the page). */
const POLL_MS = 10_000;
const HONEYTOKEN = "honeytoken.lookup";

function kindLabel(t: (k: MessageKey) => string, kind: string): string {
  const key = `alertKind.${kind}` as MessageKey;
  return key in DICTIONARIES.en ? t(key) : kind;
}

export default function AbusePage() {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const alerts = useQuery({ ...trpc.portal.alerts.queryOptions(), refetchInterval: POLL_MS });
  const members = useQuery({ ...trpc.portal.members.queryOptions(), refetchInterval: POLL_MS });
  const refresh = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: trpc.portal.alerts.queryKey() }),
      qc.invalidateQueries({ queryKey: trpc.portal.members.queryKey() }),
    ]);
  const reinstate = useMutation(trpc.portal.reinstateMember.mutationOptions({ onSuccess: refresh }));
  const [member, setMember] = useState("");
  const [kind, setKind] = useState("");
  const all = alerts.data?.alerts ?? [];
  const sanctions = alerts.data?.sanctions ?? [];
  const shown = all.filter((a) => (!member || a.member === member) && (!kind || a.kind === kind));
  const hits = all.filter((a) => a.kind === HONEYTOKEN);
  const sanctionOf = new Map(sanctions.filter((s) => s.alertId).map((s) => [s.alertId!, s]));
  const error = alerts.error ?? members.error ?? reinstate.error;
  return (
    <>
      <PageHeader title={t("abuse.title")} explain={t("abuse.explain")}>
        <button type="button" className="ghost" data-testid="alerts-refresh" onClick={() => void refresh()}>
          {t("abuse.refresh")}
        </button>
      </PageHeader>
      {error ? <ErrorText message={error.message} /> : null}
      {alerts.dataUpdatedAt ? (
        <p className="muted">{t("abuse.updated", { time: dateTime(new Date(alerts.dataUpdatedAt)) })}</p>
      ) : null}
      <Card title={t("abuse.honeytokenHits")} wide>
        {hits.length === 0 ? (
          <p className="muted">{t("abuse.honeytokenNone")}</p>
        ) : (
          <ul className="alert-list" data-testid="honeytoken-hits">
            {hits.map((a) => (
              <li key={a.id} className="error" data-member={a.member} data-receipt={a.relatedLeaf ?? ""}>
                <Badge tone="bad">{t("severity.high")}</Badge>{" "}
                {t("abuse.honeytokenHit", {
                  member: a.member,
                  leaf: a.relatedLeaf ?? t("common.none"),
                  time: dateTime(a.createdAt),
                })}
              </li>
            ))}
          </ul>
        )}
      </Card>
      <Card title={t("abuse.alerts", { count: shown.length })} wide>
        <div className="form-row">
          <label>
            {t("abuse.filter.member")}
            <select value={member} onChange={(e) => setMember(e.target.value)} data-testid="alerts-member">
              <option value="">{t("abuse.filter.all")}</option>
              {[...new Set(all.map((a) => a.member))].sort().map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("abuse.filter.kind")}
            <select value={kind} onChange={(e) => setKind(e.target.value)} data-testid="alerts-kind">
              <option value="">{t("abuse.filter.all")}</option>
              {[...new Set(all.map((a) => a.kind))].sort().map((k) => (
                <option key={k} value={k}>
                  {kindLabel(t, k)}
                </option>
              ))}
            </select>
          </label>
        </div>
        {alerts.data && shown.length === 0 ? <p className="muted">{t("abuse.none")}</p> : null}
        {shown.length > 0 ? <AlertTable alerts={shown} sanctionOf={sanctionOf} /> : null}
      </Card>
      <Card title={t("abuse.sanctions")} wide>
        <SanctionLadder
          sanctions={sanctions}
          members={members.data ?? []}
          busy={reinstate.isPending}
          onReinstate={(slug) => reinstate.mutate({ slug })}
        />
      </Card>
      <HoneytokenCard onPlanted={() => void refresh()} />
    </>
  );
}

function AlertTable({ alerts, sanctionOf }: { alerts: AlertView[]; sanctionOf: Map<string, SanctionView> }) {
  const { t, dateTime } = useI18n();
  return (
    <table className="table" data-testid="alerts-table">
      <thead>
        <tr>
          <th>{t("abuse.col.time")}</th>
          <th>{t("abuse.col.severity")}</th>
          <th>{t("abuse.col.member")}</th>
          <th>{t("abuse.col.kind")}</th>
          <th className="num">{t("abuse.col.receipt")}</th>
          <th className="num">{t("abuse.col.alertLeaf")}</th>
          <th>{t("abuse.col.detail")}</th>
          <th>{t("abuse.col.action")}</th>
        </tr>
      </thead>
      <tbody>
        {alerts.map((a) => {
          const s = sanctionOf.get(a.id);
          return (
            <tr
              key={a.id}
              className={a.kind === HONEYTOKEN ? "highlight" : ""}
              data-kind={a.kind}
              data-member={a.member}
              data-receipt={a.relatedLeaf ?? ""}
              data-action={s?.step ?? "advisory"}
            >
              <td>{dateTime(a.createdAt)}</td>
              <td>
                <Badge tone={a.severity === "high" ? "bad" : a.severity === "medium" ? "warn" : "muted"}>
                  {t(`severity.${a.severity}` as MessageKey)}
                </Badge>
              </td>
              <td>
                <code>{a.member}</code>
              </td>
              <td>{kindLabel(t, a.kind)}</td>
              <td className="num">{a.relatedLeaf ?? t("common.none")}</td>
              <td className="num">{a.auditLeaf ?? t("common.none")}</td>
              <td className="muted">
                {Object.entries(a.detail)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(" ")}
              </td>
              <td>
                {s ? (
                  <Badge tone={s.step === "warn" ? "warn" : "bad"}>
                    {t("abuse.actedOn", { step: t(`step.${s.step}` as MessageKey) })}
                  </Badge>
                ) : (
                  <Badge tone="muted">{t("abuse.advisory")}</Badge>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Per member with sanctions: its status, every step (time, log leaf, throttle end) and reinstate. */
function SanctionLadder({
  sanctions,
  members,
  busy,
  onReinstate,
}: {
  sanctions: SanctionView[];
  members: { slug: string; status: string }[];
  busy: boolean;
  onReinstate: (slug: string) => void;
}) {
  const { t, dateTime } = useI18n();
  const bySlug = new Map<string, SanctionView[]>();
  for (const s of sanctions) bySlug.set(s.member, [...(bySlug.get(s.member) ?? []), s]);
  if (bySlug.size === 0) return <p className="muted">{t("abuse.sanctionsNone")}</p>;
  const status = new Map(members.map((m) => [m.slug, m.status]));
  return (
    <table className="table" data-testid="sanctions-table">
      <thead>
        <tr>
          <th>{t("abuse.col.member")}</th>
          <th>{t("abuse.col.status")}</th>
          <th>{t("abuse.col.steps")}</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {[...bySlug].map(([slug, steps]) => {
          const st = status.get(slug);
          return (
            <tr key={slug} data-member={slug} data-status={st ?? ""}>
              <td>
                <code>{slug}</code>
              </td>
              <td>
                {st ? (
                  <Badge tone={st === "active" ? "ok" : "bad"}>{t(`common.${st}` as MessageKey)}</Badge>
                ) : null}
              </td>
              <td>
                <ol className="steps">
                  {steps.map((s) => (
                    <li key={s.id} data-step={s.step} data-leaf={s.auditLeaf ?? ""}>
                      <Badge tone={s.step === "warn" ? "warn" : "bad"}>
                        {t(`step.${s.step}` as MessageKey)}
                      </Badge>{" "}
                      {dateTime(s.createdAt)} · {t("abuse.leaf", { leaf: s.auditLeaf ?? t("common.none") })}
                      {s.until ? ` · ${t("abuse.until", { time: dateTime(s.until) })}` : ""}
                    </li>
                  ))}
                </ol>
              </td>
              <td className="row-actions">
                {st === "suspended" ? (
                  <button
                    type="button"
                    className="ghost"
                    disabled={busy}
                    data-testid={`reinstate-${slug}`}
                    onClick={() => onReinstate(slug)}
                  >
                    {t("network.reinstate")}
                  </button>
                ) : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

type Planted = Extract<WorkerResult, { op: "honeytokens" }>;

/**
 * `relink admin plant-honeytokens` in the browser: the worker publishes the synthetic records from the
 * network-owned member and computes their tags; the tags (≤ 1000 a call) are registered here.
 */
function HoneytokenCard({ onPlanted }: { onPlanted: () => void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const job = useJob<Planted>();
  const plant = useMutation(trpc.portal.plantHoneytokens.mutationOptions());
  const [note, setNote] = useState("");
  const [planted, setPlanted] = useState<number | null>(null);
  const hasKey = useHasMemberKey();
  const r = job.result;
  /** The worker publishes and tags; the tags are registered here, ≤ 1000 a call. */
  const run = async (csv: Uint8Array) => {
    setPlanted(null);
    const x = await job.run({ op: "honeytokens", csv });
    if (!x || x.tags.length === 0) return;
    const n = await inChunks(
      x.tags,
      async (tags) => (await plant.mutateAsync({ epoch: x.epoch, tags, note: note.trim() })).planted,
    );
    setPlanted(n);
    onPlanted();
  };
  return (
    <Card title={t("honeytokens.title")} wide>
      <p className="muted">{t("honeytokens.explain")}</p>
      {hasKey === false ? <p className="notice">{t("honeytokens.keyNeeded")}</p> : null}
      <div className="form-row">
        <label>
          {t("honeytokens.note")}
          <input
            value={note}
            maxLength={200}
            onChange={(e) => setNote(e.target.value)}
            data-testid="honeytoken-note"
          />
        </label>
      </div>
      <UploadJob
        job={job}
        stage="progress.publish"
        start={t("honeytokens.start")}
        startTestId="honeytoken-start"
        dropTestId="honeytoken-file"
        canStart={hasKey === true && note.trim() !== "" && !plant.isPending}
        onStart={(csv) => void run(csv).catch(() => {})}
        done={(x) =>
          x.tags.length === 0 ? (
            <p className="error" data-testid="honeytoken-refused">
              {t("honeytokens.refused", { count: x.errors.length })}
            </p>
          ) : null
        }
      />
      {plant.error ? <ErrorText message={plant.error.message} /> : null}
      {planted !== null && r ? (
        <p className="success" data-testid="honeytoken-done" data-planted={planted}>
          {t("honeytokens.done", { planted, tags: r.tags.length, records: r.records })}
        </p>
      ) : null}
    </Card>
  );
}
