"use client";
import { useRouter } from "next/navigation";
import { LOCALES, type Locale } from "./i18n.ts";
import { setLocaleCookie, useI18n } from "./i18n-client.tsx";

export function LanguageSwitch() {
  const { t, locale } = useI18n();
  const router = useRouter();
  return (
    <label className="lang">
      <span className="sr-only">{t("lang.label")}</span>
      <select
        aria-label={t("lang.label")}
        data-testid="language"
        value={locale}
        onChange={(e) => {
          setLocaleCookie(e.target.value as Locale);
          router.refresh();
        }}
      >
        {LOCALES.map((l) => (
          <option key={l} value={l}>
            {t(`lang.${l}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
