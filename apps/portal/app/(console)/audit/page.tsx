"use client";
/**
 * The audit log, verified in this browser: the latest checkpoint's signature against the pinned log key
 * (from member.json, or pasted by the user), consistency (RFC 9162 §2.1.4) with the last checkpoint this
 * browser saw (kept in localStorage), and the inclusion of every receipt of the session.
 */
import {
  base64Decode,
  base64Encode,
  openCheckpoint,
  parseVerifierKey,
  verifyConsistency,
  verifyReceiptAsync,
} from "@relink/tlog";
import { useCallback, useEffect, useState } from "react";
import { useI18n } from "../../../web/i18n-client.tsx";
import { loadMemberKey } from "../../../web/keys.ts";
import { sessionReceipts } from "../../../web/receipts.ts";
import { Card, ErrorText, PageHeader } from "../../../web/ui.tsx";

const PINNED = "relink-log-key";
const LAST = "relink-last-checkpoint";

interface View {
  origin: string;
  size: string;
  root: string;
  keyName: string;
  consistency: { kind: "first" } | { kind: "ok"; old: string } | { kind: "bad"; old: string };
  receipts: { id: number; ok: boolean; index?: string; size?: string; message?: string }[];
}

export default function AuditPage() {
  const { t } = useI18n();
  const [logKey, setLogKey] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const [view, setView] = useState<View | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void loadMemberKey().then((k) => setLogKey(k?.logKey ?? localStorage.getItem(PINNED)));
  }, []);

  const verify = useCallback(async (key: string) => {
    setError(null);
    try {
      const vkey = parseVerifierKey(key);
      const res = await fetch("/log/checkpoint", { cache: "no-store" });
      if (!res.ok) throw new Error(`checkpoint: HTTP ${res.status}`);
      const { checkpoint } = openCheckpoint(await res.text(), vkey);
      const root = base64Encode(checkpoint.root);
      const last = JSON.parse(localStorage.getItem(LAST) ?? "null") as { size: string; root: string } | null;
      let consistency: View["consistency"] = { kind: "first" };
      if (last) {
        const oldSize = BigInt(last.size);
        let ok: boolean;
        if (oldSize === checkpoint.size) ok = last.root === root;
        else if (oldSize > checkpoint.size) ok = false;
        else {
          const p = (await (
            await fetch(`/log/proof/consistency?from=${oldSize}&to=${checkpoint.size}`, { cache: "no-store" })
          ).json()) as { proof: string[] };
          const proof = p.proof.map((h) => base64Decode(h) ?? new Uint8Array());
          ok = verifyConsistency(
            oldSize,
            checkpoint.size,
            proof,
            base64Decode(last.root) ?? new Uint8Array(),
            checkpoint.root,
          );
        }
        consistency = ok ? { kind: "ok", old: last.size } : { kind: "bad", old: last.size };
      }
      if (consistency.kind !== "bad")
        localStorage.setItem(LAST, JSON.stringify({ size: String(checkpoint.size), root }));
      const receipts = await Promise.all(
        sessionReceipts().map(async (r, id) => {
          const v = await verifyReceiptAsync(r, { logKey: vkey });
          return v.ok
            ? { id, ok: true, index: String(v.index), size: String(v.checkpoint.size) }
            : { id, ok: false, message: `${v.reason}: ${v.message}` };
        }),
      );
      setView({
        origin: checkpoint.origin,
        size: String(checkpoint.size),
        root,
        keyName: vkey.name,
        consistency,
        receipts,
      });
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);

  useEffect(() => {
    if (logKey) void verify(logKey);
  }, [logKey, verify]);

  return (
    <>
      <PageHeader title={t("audit.title")} explain={t("audit.explain")} />
      {!logKey ? (
        <Card>
          <label>
            {t("audit.signature")}
            <input
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              placeholder="relink.example/audit-log/v1+…"
              data-testid="log-key"
            />
          </label>
          <button
            type="button"
            className="primary"
            onClick={() => {
              localStorage.setItem(PINNED, draft.trim());
              setLogKey(draft.trim());
            }}
          >
            {t("common.save")}
          </button>
        </Card>
      ) : null}
      {error ? <ErrorText message={error} /> : null}
      {view ? (
        <>
          <Card title={t("audit.checkpoint")}>
            <dl className="kv" data-testid="checkpoint">
              <dt>{t("audit.origin")}</dt>
              <dd>{view.origin}</dd>
              <dt>{t("audit.size")}</dt>
              <dd>{view.size}</dd>
              <dt>{t("audit.root")}</dt>
              <dd>
                <code>{view.root}</code>
              </dd>
              <dt>{t("audit.signature")}</dt>
              <dd className="verify-ok">{t("audit.signatureOk", { key: view.keyName })}</dd>
              <dt>{t("audit.consistency")}</dt>
              <dd
                data-testid="consistency"
                className={view.consistency.kind === "bad" ? "verify-bad" : "verify-ok"}
              >
                {view.consistency.kind === "first"
                  ? t("audit.consistencyFirst")
                  : view.consistency.kind === "ok"
                    ? t("audit.consistencyOk", { old: view.consistency.old, new: view.size })
                    : t("audit.consistencyBad")}
              </dd>
            </dl>
          </Card>
          <Card title={t("audit.receipts")}>
            {view.receipts.length === 0 ? <p className="muted">{t("audit.noReceipts")}</p> : null}
            <ul className="receipts" data-testid="receipts">
              {view.receipts.map((r) => (
                <li key={r.id} className={r.ok ? "verify-ok" : "verify-bad"} data-ok={r.ok}>
                  {r.ok
                    ? t("audit.receiptOk", { index: r.index ?? "", size: r.size ?? "" })
                    : `${t("audit.receiptBad")} (${r.message})`}
                </li>
              ))}
            </ul>
          </Card>
        </>
      ) : null}
    </>
  );
}
