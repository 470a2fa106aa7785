/// <reference lib="dom" />
/**
 * The web viewer (issue 28) in a real browser: `daemon.ts serve` over a
 * local bare remote holding a plain recording, an encrypted one, one in
 * progress, one of a few hundred MB (made here), and one whose output holds
 * `<script>alert(1)</script>` under an id with `<img src=x onerror=…>`;
 * headless Chromium driven over the DevTools Protocol.
 *
 * - the list shows them all; the text, machine and date filters work;
 * - a search finds a word (the same matches as `daemon.ts search`), a click
 *   opens the player paused within a second of the hit, every hit a marker;
 * - no dialog and no script from recording data ever runs, no page or
 *   console error;
 * - the big recording plays and seeks to its middle while the page receives
 *   a small part of it (bytes counted over the network);
 * - the recording in progress shows a line appended after the page opened;
 * - without the token, with a wrong Host, from another address, or with a
 *   method that writes: refused.
 *
 * Screenshots of the list and of the player at a search hit are saved as
 * test artifacts (`tests/artifacts/`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { newIdentity } from "../../lib/crypto/mod.ts";
import { assertTools, ignoreWithout } from "../support/env.ts";
import { lineRanges, pushRecording, withFakeRemote } from "../support/fake_branch.ts";
import { writeBigRecording } from "../support/big_branch.ts";
import { withBrowser } from "../support/browser.ts";
import {
  callPlayer,
  screenText,
  waitForScreen as waitForPlayerScreen,
  waitForWholeMap,
} from "../support/viewer_page.ts";
import type { Page } from "puppeteer-core";

const TOOLS = ["git", "zstd", "chromium"];
const DAEMON = new URL("../../daemon.ts", import.meta.url).pathname;
const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;

const PLAIN = "laptop-ws_2024-05-01_09-00-00_pln1";
const SECRET = "vault_2024-05-02_09-00-00_enc1";
const LIVE = "server_2024-05-03_09-00-00_liv1";
const HOSTILE = "<img src=x onerror=alert(document.domain)>_2024-05-04_09-00-00_bad1";
const BIG = "big_2024-03-01_10-00-00_huge";
const BIG_BYTES = 300_000_000;

/** A v2 recording whose output is `lines` (one event each, 0.25 s apart). */
function castOf(lines: string[], start = 0): Uint8Array {
  const out = [JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1714554000 })];
  lines.forEach((line, i) => out.push(JSON.stringify([(start + i) * 0.25, "o", `${line}\r\n`])));
  return new TextEncoder().encode(out.join("\n") + "\n");
}

/** A GET with exactly these headers over a plain connection (fetch sets its own Host); the answer's head. */
async function rawGet(port: number, path: string, headers: Record<string, string>) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await conn.write(
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\n${head}connection: close\r\n\r\n`),
    );
    const buffer = new Uint8Array(4096);
    const n = await conn.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

/**
 * Waits until the player's screen shows `text` (any other text than
 * `other` when `text` is empty); on a timeout, saves a screenshot and says
 * what the screen showed.
 */
async function waitForScreen(page: Page, text: string, other?: string): Promise<void> {
  try {
    await waitForPlayerScreen(page, text, { other });
  } catch (error) {
    await page.screenshot({ path: join(ARTIFACTS, "viewer-failure.png") }).catch(() => {});
    const shown = await screenText(page).catch(() => "(unreadable)");
    const status = await page.$eval("#player-status", (n) => n.textContent).catch(() => "");
    throw new Error(
      `the screen did not show ${JSON.stringify(text)} (status ${JSON.stringify(status)}); ` +
        `it showed: ${JSON.stringify(shown.slice(-600))}`,
      { cause: error },
    );
  }
}

/** Starts `daemon.ts serve`; resolves with the URL it printed and a stopper. */
async function serve(remote: string, env: Record<string, string>, cwd: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON, "serve", "--repo", remote, "--interval", "0.5"],
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  while (!printed.includes("\n")) {
    const next = await reader.read();
    if (next.done) throw new Error(`serve ended early: ${await stderr}`);
    printed += next.value;
  }
  const rest = (async () => {
    while (!(await reader.read()).done) printed += "";
  })();
  return {
    url: printed.trim(),
    printed,
    async stop() {
      child.kill("SIGTERM");
      const status = await child.status;
      await rest;
      return { status, stderr: await stderr };
    },
  };
}

Deno.test({
  name: "issue 28: the web viewer in Chromium: list, filters, search to the moment, big, live, " +
    "hostile data inert, refusals",
  ignore: ignoreWithout(TOOLS),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertTools(TOOLS);
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await withFakeRemote(async ({ t, remote, work, cli }) => {
      const key = await newIdentity();
      const keyFile = join(t.root, "key.txt");
      await Deno.writeTextFile(keyFile, `${key.identity}\n`, { mode: 0o600 });
      const plainLines = Array.from({ length: 400 }, (_, i) => `plain line ${i} zebra${i}`);
      await pushRecording(remote, {
        id: PLAIN,
        data: castOf(plainLines),
        manifest: {
          host: "laptop",
          started: "2024-05-01T09:00:00.000Z",
          ended: "2024-05-01T09:01:40.000Z",
        },
      });
      await pushRecording(remote, {
        id: SECRET,
        data: castOf(Array.from({ length: 50 }, (_, i) => `sealed line ${i} okapi`)),
        recipients: [key.recipient],
        manifest: { started: "2024-05-02T09:00:00.000Z", ended: "2024-05-02T09:00:20.000Z" },
      });
      const liveLines = Array.from({ length: 40 }, (_, i) => `live line ${i}`);
      const liveData = castOf(liveLines);
      await pushRecording(remote, { id: LIVE, data: liveData, ranges: lineRanges(liveData, 2) });
      await pushRecording(remote, {
        id: HOSTILE,
        data: castOf([
          "<script>alert(1)</script>",
          '<img src=x onerror="alert(2)">',
          "\u001b]0;<script>alert(3)</script>\u0007 title",
          "ordinary text after",
        ]),
        manifest: { started: "2024-05-04T09:00:00.000Z", ended: "2024-05-04T09:00:02.000Z" },
      });

      // `daemon.ts search`, for the comparison with the page's search.
      const searched = await cli(
        ["search", "--repo", remote, "--identity", keyFile, "--json", "-C", "1", "zebra25"],
      );
      assert.equal(searched.code, 0, searched.stderr);

      const env = { ...t.env, ASCIINEMA_AGE_IDENTITY: keyFile };
      const server = await serve(remote, env, work);
      try {
        assert.equal(server.printed.split("\n").filter(Boolean).length, 1, "one line printed");
        assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,}$/);
        const base = new URL(server.url);
        const origin = `http://127.0.0.1:${base.port}`;

        // --- refused: no token, wrong Host, another address, writing methods.
        const noToken = await fetch(`${origin}/api/recordings`);
        assert.equal(noToken.status, 403);
        await noToken.body?.cancel();
        const badToken = await fetch(`${origin}/?token=${"x".repeat(43)}`);
        assert.equal(badToken.status, 403);
        await badToken.body?.cancel();
        // DNS rebinding: the right address and token, another site's name.
        const rebound = await rawGet(Number(base.port), base.pathname + base.search, {
          host: `evil.example:${base.port}`,
        });
        assert.match(rebound, /^HTTP\/1\.1 421 /);
        assert.match(
          await rawGet(Number(base.port), base.pathname + base.search, {
            host: `127.0.0.1:${base.port}`,
          }),
          /^HTTP\/1\.1 200 /,
        );
        const login = await fetch(server.url);
        assert.equal(login.status, 200);
        const cookie = login.headers.get("set-cookie")!.split(";")[0];
        assert.match(login.headers.get("set-cookie")!, /HttpOnly; SameSite=Strict/);
        assert.match(login.headers.get("content-security-policy")!, /script-src 'self'/);
        assert.equal(login.headers.get("access-control-allow-origin"), null);
        await login.body?.cancel();
        const post = await fetch(`${origin}/api/recordings`, {
          method: "POST",
          headers: { cookie },
          body: "x",
        });
        assert.equal(post.status, 405);
        await post.body?.cancel();
        const crossSite = await fetch(`${origin}/api/recordings`, {
          headers: { cookie, "sec-fetch-site": "cross-site" },
        });
        assert.equal(crossSite.status, 403);
        await crossSite.body?.cancel();
        // Listening on 127.0.0.1 only: another loopback address finds nobody.
        await assert.rejects(
          fetch(`http://127.0.0.2:${base.port}/`, { headers: { host: `127.0.0.1:${base.port}` } }),
        );
        const withCookie = await fetch(`${origin}/api/recordings`, { headers: { cookie } });
        assert.equal(withCookie.status, 200);
        await withCookie.body?.cancel();

        await withBrowser(async ({ page, log, received, resetCount }) => {
          await page.setViewport({ width: 1280, height: 900 });
          await page.goto(server.url);
          assert.equal(new URL(page.url()).search, "", "the token left the address bar");

          // --- the list: every recording, then the filters.
          const rows = () =>
            page.$$eval("#recordings tbody tr", (trs) => trs.map((tr) => tr.dataset.id ?? ""));
          await page.waitForFunction(() =>
            document.querySelectorAll("#recordings tbody tr").length === 4
          );
          assert.deepEqual(new Set(await rows()), new Set([PLAIN, SECRET, LIVE, HOSTILE]));
          const hostileCell = await page.$eval(
            "#recordings tbody tr:nth-child(1) td.id",
            (td) => ({
              text: td.textContent,
              html: td.innerHTML,
              imgs: td.querySelectorAll("img").length,
            }),
          );
          assert.equal(hostileCell.text, HOSTILE, "the newest first, its id shown as text");
          assert.equal(hostileCell.imgs, 0);
          assert.equal(await page.$$eval("img", (imgs) => imgs.length), 0);
          await page.screenshot({ path: join(ARTIFACTS, "viewer-list.png") });

          const shown = async (count: number) => {
            await page.waitForFunction(
              (n) => document.querySelectorAll("#recordings tbody tr").length === n,
              {},
              count,
            );
            return await rows();
          };
          await page.type("#filter-text", "vault");
          assert.deepEqual(await shown(1), [SECRET]);
          await page.$eval("#filter-text", (input) => {
            (input as HTMLInputElement).value = "";
            input.dispatchEvent(new Event("input"));
          });
          await shown(4);
          await page.select("#filter-machine", "laptop");
          assert.deepEqual(await shown(1), [PLAIN]);
          await page.select("#filter-machine", "");
          await shown(4);
          const setDate = (id: string, value: string) =>
            page.$eval(`#${id}`, (input, v) => {
              (input as HTMLInputElement).value = v;
              input.dispatchEvent(new Event("input"));
            }, value);
          await setDate("filter-from", "2024-05-02");
          await setDate("filter-to", "2024-05-02");
          assert.deepEqual(await shown(1), [SECRET]);
          await setDate("filter-from", "");
          await setDate("filter-to", "");
          await shown(4);
          const encrypted = await page.$eval(
            `#recordings tbody tr[data-id="${SECRET}"]`,
            (tr) => tr.textContent,
          );
          assert.match(encrypted!, /encrypted/);

          // --- search lands on the moment; the same matches as `daemon.ts search`.
          await page.type("#q", "zebra25");
          await page.click("#go");
          await page.waitForSelector(".hit a");
          const body = await page.evaluate(() =>
            (globalThis as unknown as { viewer: { lastSearch: unknown } }).viewer.lastSearch
          ) as { groups: { id: string; hits: { t: number; line: string; number: number }[] }[] };
          const cliMatches = searched.stdout.trim().split("\n").map((line) => JSON.parse(line))
            .map((m) => ({ id: m.id, t: m.t, line: m.line, number: m.line_number }));
          const webMatches = body.groups.flatMap((g) =>
            g.hits.map((h) => ({ id: g.id, t: h.t, line: h.line, number: h.number }))
          );
          assert.deepEqual(webMatches, cliMatches);
          assert.ok(webMatches.length >= 11, "zebra25 and zebra250..259");
          const first = webMatches[0];
          const indexLoaded = page.waitForResponse((r) =>
            r.url().includes("/api/player/index") && r.request().resourceType() === "fetch"
          );
          await page.click(".hit a");
          const index = await (await indexLoaded).json();
          assert.equal(index.markers.length, webMatches.length, "every hit is a marker");
          await page.waitForFunction(() =>
            ((globalThis as unknown as {
              viewer: { open: { player?: { getCurrentTime(): number } } };
            }).viewer.open.player?.getCurrentTime() ?? 0) > 0
          );
          const at = (await callPlayer(page, "getCurrentTime"))!;
          assert.ok(Math.abs(at - first.t) <= 1, `player at ${at}, hit at ${first.t}`);
          await waitForScreen(page, first.line);
          await page.hover("#player"); // the control bar, with the hits as markers
          await page.screenshot({ path: join(ARTIFACTS, "viewer-search-hit.png") });

          // --- the encrypted recording plays (decrypted in the server; no identity in the page).
          await page.goto(`${origin}/#/play?r=0&id=${encodeURIComponent(SECRET)}`);
          await waitForScreen(page, "sealed line 49 okapi");
          const html = await page.content();
          assert.ok(!html.includes("AGE-SECRET-KEY"), "the identity never reaches the browser");

          // --- hostile data stays text: in the player and in search results.
          await page.goto(`${origin}/#/play?r=0&id=${encodeURIComponent(HOSTILE)}`);
          await waitForScreen(page, "ordinary text after");
          assert.match(await page.$eval("#player-title", (h) => h.textContent!), /<img src=x/);
          await page.goto(`${origin}/#/search?q=alert`);
          await page.waitForSelector(".hit a");
          const hitText = await page.$eval("#groups", (g) => g.textContent!);
          assert.ok(hitText.includes("<script>alert(1)</script>"));
          assert.equal(await page.$$eval("#groups img, #groups script", (n) => n.length), 0);

          // --- the big recording (pushed now, the list picks it up): plays, then seeks to its
          // middle, a small part fetched. (Made after the search: without a text index, search
          // renders it, which takes a while.)
          const big = await writeBigRecording(remote, { id: BIG, bytes: BIG_BYTES, ended: true });
          await page.goto(`${origin}/#/`);
          await page.waitForFunction(
            (id) => document.querySelector(`#recordings tbody tr[data-id="${id}"]`) !== null,
            { timeout: 60_000 },
            BIG,
          );
          assert.equal((await rows()).length, 5, "the list shows them all");
          resetCount();
          await page.goto(`${origin}/#/play?r=0&id=${BIG}`);
          await waitForScreen(page, "");
          const middle = (await waitForWholeMap(page, BIG)) / 2;
          const before = await screenText(page);
          await callPlayer(page, "seek", middle);
          await waitForScreen(page, "", before);
          const now = (await callPlayer(page, "getCurrentTime"))!;
          assert.ok(Math.abs(now - middle) < 5, `the player at ${now}, the middle ${middle}`);
          const fetched = received();
          console.log(
            `big recording: ${big.bytes} bytes in ${big.chunks} chunks; the page received ` +
              `${fetched} bytes to play it and seek to its middle (${
                [...log.bytes.keys()].length
              } paths)`,
          );
          assert.ok(
            fetched < big.bytes / 10,
            `the page received ${fetched} bytes of a ${big.bytes}-byte recording`,
          );

          // --- the recording in progress, live: a line appended after the page opened.
          await page.goto(`${origin}/#/play?r=0&id=${LIVE}`);
          await waitForScreen(page, "live line 39");
          const more = castOf([...liveLines, "appended after the page opened"]);
          await pushRecording(remote, {
            id: LIVE,
            data: more,
            ranges: [{ seq: 2, start: liveData.length, end: more.length }],
          });
          await waitForScreen(page, "appended after the page opened");

          assert.deepEqual(log.dialogs, [], "no dialog ever opened");
          assert.deepEqual(log.errors, [], "no page or console error");
        });
      } finally {
        const { stderr } = await server.stop();
        assert.ok(!stderr.includes("AGE-SECRET-KEY"));
      }
    });
  },
});
