// The player view: asciinema-player (served by the viewer, no CDN) on the
// viewer's segmented recording, so that only the segments played or sought
// into are loaded; a recording still being made plays live from the
// viewer's event stream.
import { el, fill, formatBytes, formatDuration, formatTime, getJson } from "./dom.js";

const $ = (id) => document.getElementById(id);

/** What is open: the player object (tests read its time), its recording and mode. */
export const open = { player: undefined, key: undefined, mode: undefined, poll: undefined };

function dispose() {
  clearTimeout(open.poll);
  open.poll = undefined;
  try {
    open.player?.dispose();
  } catch {
    // gone already
  }
  open.player = undefined;
  fill($("player"));
}

/** Closes the player (leaving the view). */
export function closePlayer() {
  dispose();
  open.key = undefined;
}

function status(text, error = false) {
  const node = $("player-status");
  node.className = error ? "status error" : "status";
  fill(node, text);
}

function create(source, options) {
  dispose();
  const player = globalThis.AsciinemaPlayer.create(source, $("player"), {
    fit: "width",
    terminalFontSize: "small",
    ...options,
  });
  open.player = player;
  return player;
}

/**
 * Shown just after a hit's time: a line's time is the event that showed it
 * (search times are rounded to the millisecond), and the player shows the
 * events before its position.
 */
const AFTER_HIT = 0.001;

/** Plays the recorded part, from `hit` (paused just after it) or from the start. */
async function replay(route, hit) {
  const t = hit === undefined ? undefined : hit + AFTER_HIT;
  open.mode = "replay";
  const key = open.key;
  const params = new URLSearchParams({ r: String(route.r), id: route.id });
  if (route.m) params.set("m", route.m);
  if (t !== undefined) params.set("at", String(t));
  status("Reading the recording…");
  let index;
  try {
    // Asked first to learn whether the time map is whole (the player asks again, at once).
    index = await getJson("/api/player/index", Object.fromEntries(params));
  } catch (error) {
    status(error.message, true);
    return;
  }
  if (open.key !== key) return;
  params.set("wait", "0"); // asked just now: what the map holds now
  const player = create({ url: `/api/player/index?${params}`, format: "segmented" }, {
    autoPlay: t === undefined,
    preload: true,
    ...(t === undefined ? {} : { startAt: t, poster: `npt:${t}` }),
  });
  status("");
  if (!index.map.caughtUp) watchMap(route, player, index.duration);
}

/**
 * While the time map is still being read, reloads the player once it is
 * whole (at the same time, playing or paused as it was), when it grew.
 */
function watchMap(route, player, duration) {
  let playing = false;
  player.addEventListener("playing", () => playing = true);
  player.addEventListener("pause", () => playing = false);
  player.addEventListener("ended", () => playing = false);
  const check = async () => {
    if (open.player !== player) return;
    try {
      const { map } = await getJson("/api/player/status", { r: route.r, id: route.id });
      if (open.player !== player) return;
      if (map.error) return status(map.error, true);
      if (!map.caughtUp) {
        status(`Reading the recording: ${formatBytes(map.scanned)} of ${formatBytes(map.total)}`);
        open.poll = setTimeout(check, 1000);
        return;
      }
      status("");
      if (map.duration <= duration) return;
      const at = player.getCurrentTime() ?? 0;
      const params = new URLSearchParams({ r: String(route.r), id: route.id, wait: "0" });
      if (route.m) params.set("m", route.m);
      create({ url: `/api/player/index?${params}`, format: "segmented" }, {
        autoPlay: playing,
        preload: true,
        startAt: at,
        ...(playing ? {} : { poster: `npt:${at}` }),
      });
    } catch (error) {
      status(error.message, true);
    }
  };
  open.poll = setTimeout(check, 1000);
}

/** Plays a recording in progress live. */
function watchLive(route) {
  open.mode = "live";
  const params = new URLSearchParams({ r: String(route.r), id: route.id });
  const player = create({ driver: "eventsource", url: `/api/live?${params}` }, {
    autoPlay: true,
  });
  player.addEventListener("ended", () => status("The recording ended."));
  status("Live: new output appears as the recording's machine pushes it.");
}

function showHits(hits) {
  fill(
    $("player-hits"),
    hits.map((hit) =>
      el(
        "li",
        {},
        el("a", { onclick: () => open.player?.seek(hit.t) }, hit.offset),
        "  ",
        hit.line,
      )
    ),
  );
}

/**
 * Opens the view for `route` ({r, id, t?, m?, live?}); `hits` are the
 * search's matches of this recording (listed under the player).
 */
export async function openPlayer(route, hits = []) {
  const key = `${route.r}\u0000${route.id}\u0000${route.t ?? ""}\u0000${route.live ?? ""}`;
  if (open.key === key && open.player) return;
  open.key = key;
  fill($("player-title"), route.id);
  fill($("player-meta"));
  showHits(hits);
  $("mode-live").hidden = true;
  $("mode-replay").hidden = true;
  dispose();
  let info;
  try {
    info = await getJson("/api/player/status", { r: route.r, id: route.id });
  } catch (error) {
    status(error.message, true);
    return;
  }
  const row = info.row;
  if (row) {
    fill(
      $("player-meta"),
      `${row.machine} · ${formatTime(row.started)} · ${formatDuration(row.duration)} · ` +
        `${formatBytes(row.bytes)}${row.encrypted ? " · encrypted" : ""}`,
    );
  }
  const inProgress = row ? !row.complete : false;
  $("mode-live").hidden = !inProgress;
  $("mode-replay").hidden = !inProgress;
  $("mode-live").onclick = () => watchLive(route);
  $("mode-replay").onclick = () => replay(route, undefined);
  const t = route.t === undefined ? undefined : Number(route.t);
  if (inProgress && t === undefined && route.live !== "0") watchLive(route);
  else await replay(route, t);
}
