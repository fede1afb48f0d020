"use client";
import { keyFingerprint, toBase64Url } from "@relink/protocol";
import { useEffect, useState } from "react";
import { useI18n } from "../../../web/i18n-client.tsx";
import {
  importMemberKeyFile,
  loadMemberKey,
  removeMemberKey,
  type StoredMemberKey,
} from "../../../web/keys.ts";
import { Card, PageHeader } from "../../../web/ui.tsx";

export default function KeysPage() {
  const { t, dateTime } = useI18n();
  const [key, setKey] = useState<StoredMemberKey | undefined>();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void loadMemberKey().then(setKey);
  }, []);
  return (
    <>
      <PageHeader title={t("keys.title")} explain={t("keys.explain")} />
      <Card>
        {key ? (
          <div className="key-info" data-testid="key-info">
            <p>
              <strong>{t("keys.imported")}</strong> · {dateTime(key.importedAt)}
            </p>
            <p>
              {t("keys.fingerprint")}:{" "}
              <code>{toBase64Url(keyFingerprint("ed25519", key.publicKey)).slice(0, 22)}…</code>
            </p>
            <button
              type="button"
              className="ghost danger"
              onClick={async () => {
                await removeMemberKey();
                setKey(undefined);
              }}
            >
              {t("keys.remove")}
            </button>
          </div>
        ) : (
          <p className="muted">{t("keys.none")}</p>
        )}
        <label className="file-button">
          {t("keys.import")}
          <input
            type="file"
            accept=".json,application/json"
            data-testid="key-file"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              setError(null);
              try {
                setKey(await importMemberKeyFile(await file.text()));
              } catch (err) {
                setError(t("keys.error", { message: (err as Error).message }));
              }
              e.target.value = "";
            }}
          />
        </label>
        {error ? <p className="error">{error}</p> : null}
      </Card>
    </>
  );
}
