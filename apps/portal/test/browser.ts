/**
 * Debian's chromium through playwright-core (docs: platform-notes): a persistent context in a fresh
 * directory; every request the browser sends (pages and the crypto worker) is recorded for the privacy scan.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Request } from "playwright-core";

export const CHROMIUM = process.env["RELINK_CHROMIUM"] ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
/**
 * How long any browser wait may take: most of the test timeout (RELINK_TEST_TIMEOUT_MS), not a fixed figure,
 * so a wait that never ends fails with the locator's message before the test's own timeout.
 */
export const WAIT_MS = Math.floor(0.8 * Number(process.env["RELINK_TEST_TIMEOUT_MS"] || 300000));

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

export interface Browser {
  context: BrowserContext;
  requests: RecordedRequest[];
  downloads: string;
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "relink-chromium-"));
  const downloads = mkdtempSync(join(tmpdir(), "relink-downloads-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    downloadsPath: downloads,
    viewport: { width: 1360, height: 900 },
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  // Playwright's own default (30 s) is a fixed timeout that a loaded machine can exceed.
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  const requests: RecordedRequest[] = [];
  const record = (r: Request) => {
    const body = r.postDataBuffer();
    requests.push({
      url: r.url(),
      method: r.method(),
      headers: r.headers(),
      body: body ? body.toString("utf8") : "",
    });
  };
  context.on("request", record);
  return {
    context,
    requests,
    downloads,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      rmSync(downloads, { recursive: true, force: true });
    },
  };
}
