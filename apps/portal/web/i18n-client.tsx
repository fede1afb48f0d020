"use client";
import { createContext, type ReactNode, useContext, useMemo } from "react";
import {
  formatDate,
  formatDateTime,
  LOCALE_COOKIE,
  type Locale,
  type Translate,
  translator,
} from "./i18n.ts";

interface I18n {
  locale: Locale;
  t: Translate;
  dateTime: (iso: string | Date) => string;
  date: (iso: string | Date) => string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ locale, children }: { locale: Locale; children: ReactNode }) {
  const value = useMemo<I18n>(
    () => ({
      locale,
      t: translator(locale),
      dateTime: (iso) => formatDateTime(locale, iso),
      date: (iso) => formatDate(locale, iso),
    }),
    [locale],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}

export function setLocaleCookie(locale: Locale): void {
  // biome-ignore lint/suspicious/noDocumentCookie: a plain preference cookie, read by the server on render
  document.cookie = `${LOCALE_COOKIE}=${locale}; path=/; max-age=31536000; samesite=lax`;
}
