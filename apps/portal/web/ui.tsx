"use client";
/** Small presentational components shared by the portal's pages. */
import type { UploadError } from "@relink/sdk/browser";
import { decodeCsv } from "@relink/sdk/csv";
import { type ReactNode, useRef, useState } from "react";
import { DICTIONARIES, type MessageKey } from "./i18n.ts";
import { useI18n } from "./i18n-client.tsx";
import type { SubjectIdentifiers } from "./protocol.ts";

export function PageHeader({
  title,
  explain,
  children,
}: {
  title: string;
  explain?: string;
  children?: ReactNode;
}) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {explain ? <p className="explain">{explain}</p> : null}
      </div>
      {children ? <div className="page-actions">{children}</div> : null}
    </header>
  );
}

export function Card({ title, children, wide }: { title?: string; children: ReactNode; wide?: boolean }) {
  return (
    <section className={wide ? "card wide" : "card"}>
      {title ? <h2>{title}</h2> : null}
      {children}
    </section>
  );
}

export function Stat({ label, value, sub }: { label: string; value: ReactNode; sub?: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {sub ? <div className="stat-sub">{sub}</div> : null}
    </div>
  );
}

export function Badge({ tone, children }: { tone: "ok" | "warn" | "bad" | "muted"; children: ReactNode }) {
  return <span className={`badge ${tone}`}>{children}</span>;
}

export function Progress({ label, done, total }: { label: string; done: number; total: number }) {
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return (
    <div className="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
      <div className="progress-label">
        <span>{label}</span>
        <span>
          {done.toLocaleString()} / {total.toLocaleString()}
        </span>
      </div>
      <div className="progress-track">
        <div className="progress-bar" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function ErrorText({ message }: { message: string }) {
  const { t } = useI18n();
  return (
    <p className="error" role="alert">
      {t("common.error", { message })}
    </p>
  );
}

/**
 * A CSV drop zone: the file is read here, in the browser, and handed to the caller as its bytes (the crypto
 * worker reads them with the SDK's CSV reader, exactly as the CLI does: UTF-8, UTF-16LE or GBK/GB18030) and
 * as text decoded the same way (for counting rows; empty when the encoding is refused — the worker says why).
 */
export function CsvDrop({
  onFile,
  disabled,
  testId = "csv-input",
}: {
  onFile: (name: string, text: string, bytes: Uint8Array) => void;
  disabled?: boolean;
  /** The file input's test id, for pages with more than one drop zone. */
  testId?: string;
}) {
  const { t } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const read = async (file: File | undefined) => {
    if (!file || disabled) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let text = "";
    try {
      text = decodeCsv(bytes).text;
    } catch {}
    onFile(file.name, text, bytes);
  };
  return (
    <button
      type="button"
      disabled={disabled}
      className={`dropzone${over ? " over" : ""}${disabled ? " disabled" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        void read(e.dataTransfer.files[0]);
      }}
      onClick={() => input.current?.click()}
    >
      <input
        ref={input}
        type="file"
        accept=".csv,text/csv"
        hidden
        data-testid={testId}
        onChange={(e) => void read(e.target.files?.[0])}
      />
      <span className="dropzone-icon" aria-hidden>
        ⇪
      </span>
      <span>{t("upload.drop")}</span>
    </button>
  );
}

export function UploadErrors({ errors }: { errors: readonly UploadError[] }) {
  const { t } = useI18n();
  const reason = (e: UploadError) => {
    const key = `reason.${e.reason}` as MessageKey;
    return key in DICTIONARIES.en ? t(key) : e.message;
  };
  if (errors.length === 0) return null;
  return (
    <div className="upload-errors">
      <h3>{t("upload.errors", { count: errors.length })}</h3>
      <table className="table compact">
        <thead>
          <tr>
            <th>{t("upload.col.row")}</th>
            <th>{t("upload.col.field")}</th>
            <th>{t("upload.col.reason")}</th>
          </tr>
        </thead>
        <tbody>
          {errors.slice(0, 200).map((e) => (
            <tr key={`${e.row}-${e.field}-${e.reason}`}>
              <td>{e.row}</td>
              <td>
                <code>{e.field}</code>
              </td>
              <td title={e.message}>{reason(e)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The purpose select and case-id input of a query page (`/match`, `/exposure`); `children` go first in the
 * same row (the exposure page's mode select). The case id is required by the pages' start buttons.
 */
export function PurposeAndCase<P extends string>({
  purposes,
  purpose,
  onPurpose,
  caseId,
  onCaseId,
  purposeLabel,
  caseLabel,
  purposeTestId,
  children,
}: {
  purposes: readonly P[];
  purpose: P;
  onPurpose: (p: P) => void;
  caseId: string;
  onCaseId: (c: string) => void;
  purposeLabel: string;
  caseLabel: string;
  purposeTestId: string;
  children?: ReactNode;
}) {
  const { t } = useI18n();
  return (
    <div className="form-row">
      {children}
      <label>
        {purposeLabel}
        <select value={purpose} onChange={(e) => onPurpose(e.target.value as P)} data-testid={purposeTestId}>
          {purposes.map((p) => (
            <option key={p} value={p}>
              {t(`purpose.${p}` as MessageKey)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {caseLabel}
        <input
          value={caseId}
          onChange={(e) => onCaseId(e.target.value)}
          maxLength={100}
          data-testid="case-id"
        />
      </label>
    </div>
  );
}

export const NO_SUBJECT: SubjectIdentifiers = { idNumber: "", phone: "", name: "", dob: "" };

/** The subject's identifier inputs of the DPO pages, test ids `<prefix>-idNumber`, … */
export function SubjectFields({
  value,
  onChange,
  testIdPrefix,
}: {
  value: SubjectIdentifiers;
  onChange: (v: SubjectIdentifiers) => void;
  testIdPrefix: string;
}) {
  const { t } = useI18n();
  const field = (k: keyof SubjectIdentifiers, labelKey: MessageKey, type = "text") => (
    <label key={k}>
      {t(labelKey)}
      <input
        type={type}
        value={value[k]}
        autoComplete="off"
        onChange={(e) => onChange({ ...value, [k]: e.target.value })}
        data-testid={`${testIdPrefix}-${k}`}
      />
    </label>
  );
  return (
    <>
      {field("idNumber", "dpo.report.idNumber")}
      {field("phone", "dpo.report.phone")}
      {field("name", "dpo.report.name")}
      {field("dob", "dpo.report.dob", "date")}
    </>
  );
}

/** Offers `data` as a file download named `name`. */
export function downloadFile(
  name: string,
  data: string | Uint8Array<ArrayBuffer>,
  type = "text/csv;charset=utf-8",
): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function countRows(text: string): number {
  return Math.max(0, text.split(/\r?\n/).filter((l) => l.trim() !== "").length - 1);
}
