/// <reference lib="dom" />
/**
 * Reading and driving the viewer's page in a test browser (shared by the
 * browser test and the benchmark): the text on the player's screen, the open
 * player's methods (the page keeps it at `viewer.open.player`), and waiting
 * for a recording's time map to be whole and in the player.
 *
 * @module
 */
import type { Page } from "puppeteer-core";

/** The text on the player's screen (its spaces are no-break spaces there). */
export function screenText(page: Page): Promise<string> {
  return page.evaluate(() =>
    (document.querySelector(".ap-term")?.textContent ?? "").replaceAll("\u00a0", " ")
  );
}

/**
 * Waits until the player's screen shows `text` (with `text` empty: any text
 * other than `other`).
 */
export async function waitForScreen(
  page: Page,
  text: string,
  options: { timeout?: number; other?: string } = {},
): Promise<void> {
  await page.waitForFunction(
    (wanted, other) => {
      const shown = (document.querySelector(".ap-term")?.textContent ?? "")
        .replaceAll("\u00a0", " ");
      return wanted ? shown.includes(wanted) : shown.trim().length > 0 && shown !== other;
    },
    { timeout: options.timeout ?? 60_000 },
    text,
    options.other ?? "",
  );
}

/** Calls a method of the open player (`getCurrentTime`, `getDuration`, `pause`, `seek`). */
export function callPlayer(
  page: Page,
  method: "getCurrentTime" | "getDuration" | "pause" | "seek",
  at?: number,
): Promise<number | undefined> {
  return page.evaluate(
    async (name, t) => {
      const player = (globalThis as unknown as {
        viewer: { open: { player?: Record<string, (t?: number) => unknown> } };
      }).viewer.open.player;
      const value = await player?.[name](t);
      return typeof value === "number" ? value : undefined;
    },
    method,
    at,
  );
}

/**
 * Waits until the time map of recording `id` (remote 0) was read whole and
 * the page's player holds all of it (the page reloads it then); returns
 * the recording's duration in seconds.
 */
export async function waitForWholeMap(
  page: Page,
  id: string,
  options: { timeout?: number } = {},
): Promise<number> {
  const duration = await page.evaluate(async (recording) => {
    for (;;) {
      const response = await fetch(`/api/player/status?r=0&id=${encodeURIComponent(recording)}`);
      const { map } = await response.json();
      if (map.caughtUp) return map.duration as number;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, id);
  await page.waitForFunction(
    (d) => {
      const player = (globalThis as unknown as {
        viewer: { open: { player?: { getDuration(): number | undefined } } };
      }).viewer.open.player;
      return (player?.getDuration() ?? 0) >= d - 1;
    },
    { timeout: options.timeout ?? 300_000 },
    duration,
  );
  return duration;
}
