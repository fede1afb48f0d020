import type { Metadata } from "next";
import type { ReactNode } from "react";
import { translator } from "../web/i18n.ts";
import { currentLocale } from "../web/locale.ts";
import { Providers } from "../web/providers.tsx";
import "./globals.css";

export async function generateMetadata(): Promise<Metadata> {
  const t = translator(await currentLocale());
  return { title: t("app.name"), description: t("app.tagline") };
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  const locale = await currentLocale();
  return (
    <html lang={locale}>
      <body>
        <Providers locale={locale}>{children}</Providers>
      </body>
    </html>
  );
}
