/**
 * A headless Chromium for browser tests, driven over the DevTools Protocol
 * (puppeteer-core with Debian's `chromium`): a fresh profile in a temporary
 * folder, nothing from the network, and a record of what must never
 * happen (JavaScript dialogs, page errors, console errors) and of the bytes
 * the page received (CDP `Network.loadingFinished`).
 *
 * @module
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { findOnPath } from "../../lib/sys/mod.ts";

/** What a test browser saw. */
export interface BrowserLog {
  /** JavaScript dialogs opened (`Page.javascriptDialogOpening`): must stay empty. */
  dialogs: string[];
  /** Uncaught page errors and console errors. */
  errors: string[];
  /** Bytes received over the network (encoded, as sent), by URL path. */
  bytes: Map<string, number>;
}

/** A browser with one page. */
export interface TestBrowser {
  /** The browser. */
  browser: Browser;
  /** Its page. */
  page: Page;
  /** What it saw. */
  log: BrowserLog;
  /** Bytes received since the count was last reset. */
  received(): number;
  /** Starts counting bytes from zero. */
  resetCount(): void;
}

/** The flags Chromium needs here (root, no GPU, no network of its own). */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Runs `body` with a fresh headless Chromium; closes it and removes its profile afterwards. */
export async function withBrowser(body: (browser: TestBrowser) => Promise<void>): Promise<void> {
  const executablePath = findOnPath("chromium");
  if (!executablePath) throw new Error("this test needs chromium (see .ci/run)");
  const profile = await Deno.makeTempDir({ prefix: "chromium-test-" });
  const browser = await puppeteer.launch({
    executablePath,
    userDataDir: profile,
    args: CHROMIUM_FLAGS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  try {
    const page = await browser.newPage();
    const log: BrowserLog = { dialogs: [], errors: [], bytes: new Map() };
    page.on("dialog", (dialog) => {
      log.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });
    page.on("pageerror", (error) => log.errors.push(`page error: ${(error as Error).message}`));
    page.on("console", (message) => {
      if (message.type() === "error") log.errors.push(`console: ${message.text()}`);
    });
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    const urls = new Map<string, string>();
    let count = 0;
    cdp.on("Network.responseReceived", (event) => urls.set(event.requestId, event.response.url));
    cdp.on("Network.loadingFinished", (event) => {
      count += event.encodedDataLength;
      const url = urls.get(event.requestId);
      if (url) {
        const path = new URL(url).pathname;
        log.bytes.set(path, (log.bytes.get(path) ?? 0) + event.encodedDataLength);
      }
    });
    await body({
      browser,
      page,
      log,
      received: () => count,
      resetCount: () => count = 0,
    });
  } finally {
    await browser.close().catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
