/**
 * The viewer's server without a browser (lib/web/server.ts and what it
 * reads): the list with machines and filters, the segmented index and its
 * segments as the player checks them, decryption in the server, the live
 * event stream, what a request may name, HEAD, and a damaged chunk that only
 * the segments holding it notice.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { newIdentity } from "../../../lib/crypto/mod.ts";
import { Identities } from "../../../lib/crypto/mod.ts";
import { chunkPathOnBranch } from "../../../lib/chunk/mod.ts";
import { EventParser, LineSplitter, parseCastHeader } from "../../../lib/text/mod.ts";
import {
  followStart,
  MAX_MATCHES,
  startViewer,
  type Viewer,
  ViewerBranches,
  webSearch,
  workspaceOf,
} from "../../../lib/web/mod.ts";
import { assertTools, ignoreWithout, waitFor } from "../../support/env.ts";
import {
  lineRanges,
  makeCast,
  pushRecording,
  tamper,
  withFakeRemote,
} from "../../support/fake_branch.ts";

const TOOLS = ["git", "zstd"];
const PLAIN = "desk_2024-01-02_03-04-05_abcd";
const OLD = "oldbox_2023-06-01_10-00-00_wxyz";
const SEALED = "vault_2024-02-01_00-00-00_seal";

interface Rig {
  viewer: Viewer;
  get(path: string, init?: RequestInit): Promise<Response>;
  json(path: string): Promise<Record<string, unknown>>;
}

async function withViewer(
  remote: string,
  options: {
    paths: Parameters<typeof startViewer>[0]["paths"];
    identities?: Identities;
    intervalSeconds?: number;
  },
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const viewer = await startViewer({
    repoUrl: remote,
    paths: options.paths,
    identities: options.identities,
    spacing: 3000,
    intervalSeconds: options.intervalSeconds ?? 0.2,
  });
  try {
    const login = await fetch(viewer.url);
    await login.body?.cancel();
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const origin = new URL(viewer.url).origin;
    const get = (path: string, init: RequestInit = {}) =>
      fetch(`${origin}${path}`, { ...init, headers: { cookie, ...init.headers } });
    const json = async (path: string) => {
      const response = await get(path);
      const body = await response.json();
      assert.equal(response.status, 200, `${path}: ${JSON.stringify(body)}`);
      return body;
    };
    await body({ viewer, get, json });
  } finally {
    await viewer.close();
  }
}

/** The engine's output events of a recording: [seconds, data]. */
function engineOutput(data: Uint8Array): [number, string][] {
  const lines = new LineSplitter().push(data);
  const parser = new EventParser(parseCastHeader(lines[0]));
  const out: [number, string][] = [];
  for (const line of lines.slice(1)) {
    const event = parser.parse(line);
    if (event?.kind === "output") out.push([event.us / 1e6, event.data]);
  }
  return out;
}

/** Every segment of a recording through the API, checked as the player checks them. */
async function playAll(rig: Rig, id: string): Promise<[number, string][]> {
  type Index = {
    duration: number;
    segments: { start: number; url: string }[];
    map: { caughtUp: boolean };
  };
  // As the player does: the index again until the map has read the whole recording (on a busy
  // machine one answer may come before it has).
  let index!: Index;
  await waitFor(async () => {
    index = await rig.json(`/api/player/index?r=0&id=${encodeURIComponent(id)}`) as Index;
    return index.map.caughtUp;
  }, { what: `the map of ${id} caught up` });
  assert.ok(index.map.caughtUp);
  assert.ok(index.segments.length > 3, `${index.segments.length} segments`);
  const out: [number, string][] = [];
  for (const [i, segment] of index.segments.entries()) {
    const body = await rig.json(`/api/player/${segment.url}`) as {
      snapshot: { cols: number; rows: number; init: string };
      events: [number, string, string][];
    };
    const end = index.segments[i + 1]?.start ?? index.duration;
    if (i > 0) {
      assert.equal(body.events[0][0], segment.start);
      assert.ok(body.snapshot.init.length > 0, "a snapshot rebuilds the screen");
    }
    for (const [t] of body.events) {
      assert.ok(t >= segment.start && (i + 1 < index.segments.length ? t < end : t <= end));
    }
    for (const [t, code, data] of body.events) if (code === "o" && data) out.push([t, data]);
  }
  return out;
}

Deno.test({
  name: "viewer API: the list (machines, filters), segments that add up to the recording, HEAD",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote }) => {
      const plain = makeCast(300, { seed: "p" });
      await pushRecording(remote, {
        id: PLAIN,
        data: plain,
        ranges: lineRanges(plain, 5),
        manifest: { host: "desk.example", started: "2024-01-02T03:04:05.000Z" },
      });
      const old = makeCast(20, { seed: "o" });
      await pushRecording(remote, {
        id: OLD,
        data: old,
        manifest: { started: "2023-06-01T10:00:00.000Z", ended: "2023-06-01T10:00:30.000Z" },
      });
      await withViewer(remote, { paths: t.paths }, async (rig) => {
        const list = await rig.json("/api/recordings") as {
          machines: string[];
          total: number;
          recordings: { id: string; machine: string; duration: number; complete: boolean }[];
        };
        assert.equal(list.total, 2);
        assert.deepEqual(list.recordings.map((r) => r.id), [PLAIN, OLD], "newest first");
        assert.deepEqual(list.machines, ["desk.example", "oldbox"]);
        assert.equal(list.recordings[1].machine, "oldbox", "older manifests: the id's workspace");
        assert.equal(list.recordings[1].duration, 30);
        const only = async (query: string) =>
          ((await rig.json(`/api/recordings?${query}`)).recordings as { id: string }[])
            .map((r) => r.id);
        assert.deepEqual(await only("text=DESK"), [PLAIN]);
        assert.deepEqual(await only("machine=oldbox"), [OLD]);
        assert.deepEqual(await only("from=2024-01-01T00:00:00Z"), [PLAIN]);
        assert.deepEqual(await only("to=2024-01-01T00:00:00Z"), [OLD]);

        assert.deepEqual(await playAll(rig, PLAIN), engineOutput(plain));

        const head = await rig.get("/api/recordings", { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal(await head.text(), "");
        assert.match(head.headers.get("content-security-policy")!, /default-src 'none'/);
        assert.equal(head.headers.get("access-control-allow-origin"), null);
        const page = await rig.get("/");
        assert.match(page.headers.get("content-type")!, /text\/html/);
        assert.match(await page.text(), /<script src="\/assets\/asciinema-player\.min\.js">/);
        for (const asset of ["app.js", "dom.js", "player.js", "asciinema-player.css"]) {
          const response = await rig.get(`/assets/${asset}`);
          assert.equal(response.status, 200, asset);
          await response.body?.cancel();
        }
      });
    });
  },
});

Deno.test({
  name: "viewer API: what a request names is checked; a damaged chunk fails only its segments",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote }) => {
      const plain = makeCast(300, { seed: "d" });
      const ranges = lineRanges(plain, 5);
      await pushRecording(remote, { id: PLAIN, data: plain, ranges, manifest: true });
      // Every request reads the branch again (the damage below is seen at once).
      await withViewer(remote, { paths: t.paths, intervalSeconds: 0 }, async (rig) => {
        const status = async (path: string) => {
          const response = await rig.get(path);
          await response.body?.cancel();
          return response.status;
        };
        assert.equal(await status("/api/player/index?r=7&id=x"), 404);
        assert.equal(await status("/api/player/index?r=0&id=nope"), 404);
        assert.equal(await status("/api/player/index?r=-1&id=x"), 400);
        assert.equal(await status("/api/player/index?r=0"), 400);
        assert.equal(await status(`/api/player/segment?r=0&id=${PLAIN}&n=x&to=1`), 400);
        assert.equal(await status("/api/search?q="), 400);
        assert.equal(await status("/api/search?q=(&regex=1"), 400);
        assert.equal(await status("/nothing-here"), 404);
        const index = await rig.json(`/api/player/index?r=0&id=${PLAIN}`) as {
          segments: { url: string }[];
        };
        const [path, query] = index.segments[1].url.split("?");
        const params = new URLSearchParams(query);
        params.set("to", String(Number(params.get("to")) + 99_999));
        assert.equal(await status(`/api/player/${path}?${params}`), 404, "an end no index gave");
        params.set("n", "9999");
        assert.equal(await status(`/api/player/${path}?${params}`), 404);

        // The last chunk is damaged after the map was read: the first segment still plays.
        const last = ranges[ranges.length - 1];
        await tamper(remote, {
          path: chunkPathOnBranch(PLAIN, last),
          content: new TextEncoder().encode("not zstd"),
        });
        const fresh = await rig.json(`/api/player/index?r=0&id=${PLAIN}`) as {
          segments: { url: string }[];
        };
        assert.equal(await status(`/api/player/${fresh.segments[0].url}`), 200);
        const broken = await rig.get(`/api/player/${fresh.segments.at(-1)!.url}`);
        assert.equal(broken.status, 500);
        assert.match((await broken.json()).error, /cannot be read intact/);
      });
    });
  },
});

Deno.test({
  name: "viewer API: an encrypted recording plays with the server's identity, never without",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote }) => {
      const key = await newIdentity();
      const data = makeCast(200, { seed: "s" });
      await pushRecording(remote, {
        id: SEALED,
        data,
        ranges: lineRanges(data, 4),
        recipients: [key.recipient],
        manifest: true,
      });
      const keyFile = join(t.root, "key.txt");
      await Deno.writeTextFile(keyFile, `${key.identity}\n`, { mode: 0o600 });
      await withViewer(remote, {
        paths: t.paths,
        identities: new Identities({ file: keyFile }),
      }, async (rig) => {
        const list = await rig.json("/api/recordings") as {
          recordings: { encrypted: boolean; locked: boolean }[];
        };
        assert.deepEqual([list.recordings[0].encrypted, list.recordings[0].locked], [true, false]);
        assert.deepEqual(await playAll(rig, SEALED), engineOutput(data));
      });
      await withViewer(remote, {
        paths: t.paths,
        identities: new Identities({ stored: () => Promise.resolve(undefined) }),
      }, async (rig) => {
        const list = await rig.json("/api/recordings") as { recordings: { locked: boolean }[] };
        assert.equal(list.recordings[0].locked, true);
        const index = await rig.get(`/api/player/index?r=0&id=${SEALED}`);
        assert.equal(index.status, 502);
        assert.match((await index.json()).error, /identity/);
      });
    });
  },
});

/** Reads server-sent events until `until` says stop. */
async function readEvents(
  response: Response,
  until: (events: { event: string; data: unknown }[]) => boolean,
): Promise<{ event: string; data: unknown }[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: unknown }[] = [];
  let buffer = "";
  try {
    while (!until(events)) {
      const next = await reader.read();
      if (next.done) break;
      buffer += next.value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(":")) continue;
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(block)?.[1];
        events.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return events;
}

Deno.test({
  name: "viewer live: the screen as last pushed, then appended output as it arrives, then done",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote }) => {
      const data = makeCast(200, { seed: "live" });
      const ranges = lineRanges(data, 4);
      await pushRecording(remote, { id: PLAIN, data, ranges });
      assert.equal(workspaceOf(PLAIN), "desk");
      await withViewer(remote, { paths: t.paths }, async (rig) => {
        const response = await rig.get(`/api/live?r=0&id=${PLAIN}`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get("content-type")!, /text\/event-stream/);
        const more = new TextEncoder().encode(
          new TextDecoder().decode(data) +
            JSON.stringify([60, "o", "appended while watched\r\n"]) + "\n",
        );
        let pushed = false;
        const events = await readEvents(response, (events) => {
          if (events.length === 1 && !pushed) {
            pushed = true;
            pushRecording(remote, {
              id: PLAIN,
              data: more,
              ranges: [{ seq: 4, start: data.length, end: more.length }],
              manifest: { chunks: 5 },
            });
          }
          return events.some((e) => e.event === "done");
        });
        const reset = events[0].data as { cols: number; rows: number; init: string };
        assert.deepEqual([reset.cols, reset.rows], [80, 24]);
        assert.ok(reset.init.includes("live line 199"), "the last pushed output");
        const live = events.filter((e) => Array.isArray(e.data)).map((e) => e.data) as [
          number,
          string,
          string,
        ][];
        assert.deepEqual(live.map((e) => e[2]), ["appended while watched\r\n"]);
        assert.equal(events.at(-1)!.event, "done");
      });
    });
  },
});

Deno.test("viewer live: following starts at the chunk boundary a window before the end", () => {
  const entry = (seq: number, start: number, end: number) => ({
    id: "x",
    seq,
    start,
    end,
    path: "",
    blob: "",
    size: 0,
  });
  const entries = [entry(0, 0, 50_000), entry(1, 50_000, 100_000), entry(2, 100_000, 130_000)];
  assert.equal(followStart(entries, 64 * 1024), 50_000);
  assert.equal(followStart(entries, 10_000), 100_000);
  assert.equal(followStart(entries, 1 << 30), 0);
  assert.equal(followStart([], 10), 0);
});

Deno.test({
  name: "viewer search: bounded by matches and by time, and says so",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote }) => {
      await pushRecording(remote, {
        id: PLAIN,
        data: makeCast(2100, { seed: "m" }),
        manifest: true,
      });
      const branches = await ViewerBranches.open({ repoUrl: remote, paths: t.paths });
      try {
        const all = await webSearch(branches, { pattern: "m line" }, { paths: t.paths });
        assert.deepEqual([all.matches, all.truncated], [MAX_MATCHES, true]);
        assert.equal(all.groups[0].hits.length, MAX_MATCHES);
        assert.equal(all.groups[0].hits[0].line.startsWith("m line 0 "), true);
        const few = await webSearch(branches, { pattern: "m line 7 " }, { paths: t.paths });
        assert.deepEqual([few.matches, few.truncated], [1, false]);
        assert.equal(few.groups[0].hits[0].t, 7 * 0.25);
        const late = await webSearch(branches, { pattern: "m line" }, {
          paths: t.paths,
          timeoutMs: 0,
        });
        assert.equal(late.truncated, true);
      } finally {
        await branches.close();
      }
    });
  },
});
