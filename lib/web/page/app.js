// The viewer's page: the list of every recording of every remote (filters
// by text, machine and date), search across their text (a click opens the
// player at the hit, every hit of the recording a marker on its timeline),
// and the player. State lives in the address's fragment, so Back works.
import { el, fill, formatBytes, formatDuration, formatTime, getJson } from "./dom.js";
import { closePlayer, open, openPlayer } from "./player.js";

const $ = (id) => document.getElementById(id);

// The token has done its work (the answer set the cookie): keep it out of the address bar.
if (new URLSearchParams(location.search).has("token")) {
  history.replaceState(null, "", location.pathname + location.hash);
}

/** For tests and the curious: the open player (`viewer.open.player.getCurrentTime()`). */
globalThis.viewer = { open, lastSearch: undefined };

let listTimer;
/** The list is read again this often while it is shown (new recordings, ended ones). */
const LIST_REFRESH_MS = 15_000;
const searches = new Map();

function show(section) {
  for (const id of ["browse", "results", "player-view"]) $(id).hidden = id !== section;
  if (section !== "player-view") closePlayer();
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  return { path, params: Object.fromEntries(new URLSearchParams(query)) };
}

function go(path, params = {}) {
  const query = new URLSearchParams(params).toString();
  location.hash = `#${path}${query ? `?${query}` : ""}`;
}

function dayStart(value, days = 0) {
  if (!value) return undefined;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

async function loadList() {
  const status = $("list-status");
  try {
    const body = await getJson("/api/recordings", {
      text: $("filter-text").value,
      machine: $("filter-machine").value,
      from: dayStart($("filter-from").value),
      to: dayStart($("filter-to").value, 1),
    });
    const select = $("filter-machine");
    const chosen = select.value;
    fill(
      select,
      el("option", { value: "" }, "every machine"),
      body.machines.map((machine) =>
        el("option", { value: machine, selected: machine === chosen }, machine)
      ),
    );
    fill(
      $("recordings").tBodies[0],
      body.recordings.map((row) =>
        el(
          "tr",
          {
            dataset: { r: row.r, id: row.id },
            onclick: () => go("/play", { r: row.r, id: row.id }),
          },
          el("td", { class: "id" }, row.id),
          el("td", {}, row.machine),
          el("td", {}, formatTime(row.started)),
          el("td", {}, formatDuration(row.duration)),
          el("td", {}, formatBytes(row.bytes)),
          el(
            "td",
            {},
            row.complete
              ? el("span", { class: "badge" }, "complete")
              : el("span", { class: "badge live" }, "in progress"),
            row.encrypted ? el("span", { class: "badge" }, "encrypted") : undefined,
            row.locked ? el("span", { class: "badge" }, "no identity") : undefined,
          ),
        )
      ),
    );
    status.className = "status";
    fill(
      status,
      body.recordings.length === body.total
        ? `${body.total} recording${body.total === 1 ? "" : "s"}`
        : `${body.recordings.length} of ${body.total} recordings`,
    );
    fill(
      $("remotes"),
      body.remotes.map((remote) =>
        el(
          "li",
          { class: remote.error ? "error" : "status" },
          `${remote.url} (${remote.branch}): ${remote.recordings} recordings`,
          remote.error ? ` — ${remote.error}` : "",
          remote.notes.length ? ` — ${remote.notes.join("; ")}` : "",
        )
      ),
    );
  } catch (error) {
    status.className = "status error";
    fill(status, error.message);
  }
}

function scheduleList(delay = 250) {
  clearTimeout(listTimer);
  listTimer = setTimeout(async () => {
    if ($("browse").hidden) return;
    await loadList();
    scheduleList(LIST_REFRESH_MS);
  }, delay);
}

function hitRow(group, hit, markers) {
  const openAt = () => go("/play", { r: group.r, id: group.id, t: hit.t, m: markers, q: "1" });
  return el(
    "div",
    { class: "hit" },
    hit.before.map((line) => [el("span"), el("span", { class: "context" }, line)]),
    el("a", { onclick: openAt, title: "play from here" }, hit.offset),
    el("span", { class: "match" }, hit.line),
    hit.after.map((line) => [el("span"), el("span", { class: "context" }, line)]),
  );
}

async function runSearch(params) {
  show("results");
  $("q").value = params.q ?? "";
  $("regex").checked = params.regex === "1";
  $("icase").checked = params.icase === "1";
  const status = $("results-status");
  status.className = "status";
  fill(status, "Searching…");
  fill($("groups"));
  const key = new URLSearchParams(params).toString();
  try {
    const body = searches.get(key) ?? await getJson("/api/search", params);
    searches.set(key, body);
    globalThis.viewer.lastSearch = body;
    if (route().path !== "/search") return;
    fill(
      status,
      `${body.matches} match${body.matches === 1 ? "" : "es"} in ${body.groups.length} ` +
        `recording${body.groups.length === 1 ? "" : "s"}` +
        (body.truncated ? " (stopped there: narrow the search)" : ""),
      body.errors.map((error) => el("div", { class: "error" }, error)),
    );
    fill(
      $("groups"),
      body.groups.map((group) => {
        const markers = group.hits.map((hit) => hit.t).join(",");
        return el(
          "div",
          { class: "group", dataset: { r: group.r, id: group.id } },
          el("h3", {}, group.id),
          group.hits.map((hit) => hitRow(group, hit, markers)),
        );
      }),
    );
  } catch (error) {
    status.className = "status error";
    fill(status, error.message);
  }
}

function hitsFor(params) {
  if (!params.q) return [];
  for (const body of searches.values()) {
    const group = body.groups.find((g) => String(g.r) === params.r && g.id === params.id);
    if (group) return group.hits;
  }
  return [];
}

function render() {
  const { path, params } = route();
  if (path === "/search" && params.q) return runSearch(params);
  if (path === "/play" && params.id !== undefined && params.r !== undefined) {
    show("player-view");
    return openPlayer(params, hitsFor(params));
  }
  show("browse");
  scheduleList(0);
}

function search() {
  const q = $("q").value;
  if (!q) return;
  const params = { q };
  if ($("regex").checked) params.regex = "1";
  if ($("icase").checked) params.icase = "1";
  searches.delete(new URLSearchParams(params).toString());
  go("/search", params);
  if (route().path === "/search") render();
}

$("go").addEventListener("click", search);
$("q").addEventListener("keydown", (event) => {
  if (event.key === "Enter") search();
});
for (const id of ["filter-text", "filter-machine", "filter-from", "filter-to"]) {
  $(id).addEventListener("input", () => scheduleList());
}
$("back").addEventListener("click", () => history.length > 1 ? history.back() : go("/"));
addEventListener("hashchange", render);
render();
