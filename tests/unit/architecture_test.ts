/**
 * The layout docs/architecture.md describes holds (issue 26): every file in
 * lib/ is named there; imports between folders go through the folder's
 * `mod.ts`; the folders of lib/ import each other without a cycle; and the
 * engine's sub-folders import only those before them in the pipeline's order,
 * never the files at the engine's top.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const lib = join(root, "lib");

/** The engine's sub-folders, each importing only those before it. */
const ENGINE_ORDER = ["watch", "core", "cut", "finish", "publish", "health", "text_index"];

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await filesUnder(path));
    else out.push(path);
  }
  return out.sort();
}

/** Relative imports of a source file, resolved to paths under lib/ (others dropped). */
function importsOf(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    found.push(relative(lib, join(dirname(file), match[1])));
  }
  return found;
}

const sources = (await filesUnder(lib)).filter((path) => path.endsWith(".ts"));
const texts = new Map(
  await Promise.all(sources.map(async (path) => [path, await Deno.readTextFile(path)] as const)),
);

Deno.test("docs/architecture.md names every file in lib/", async () => {
  const doc = await Deno.readTextFile(join(root, "docs/architecture.md"));
  const missing = (await filesUnder(lib))
    .map((path) => relative(lib, path))
    .filter((path) => !path.endsWith("/mod.ts"))
    .filter((path) => {
      const parts = path.split("/");
      // A file in a sub-folder of the engine is named with its sub-folder (`cut/spool.ts`).
      const name = parts[0] === "engine" && parts.length > 2
        ? parts.slice(1).join("/")
        : parts.at(-1)!;
      return !doc.includes(name);
    });
  assert.deepEqual(missing, []);
});

Deno.test("imports between folders of lib/ go through mod.ts, without a cycle", () => {
  const bad: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const [file, text] of texts) {
    const from = relative(lib, file);
    const folder = from.split("/")[0];
    for (const target of importsOf(file, text)) {
      const to = target.split("/")[0];
      if (target.startsWith("..") || to === folder) continue;
      if (target !== `${to}/mod.ts`) bad.push(`${from} -> ${target}`);
      if (!edges.has(folder)) edges.set(folder, new Set());
      edges.get(folder)!.add(to);
    }
  }
  assert.deepEqual(bad, []);
  // Depth-first search for a cycle among the folders.
  const state = new Map<string, "open" | "done">();
  const cycle: string[] = [];
  const visit = (node: string, path: string[]): boolean => {
    if (state.get(node) === "done") return false;
    if (state.get(node) === "open") return cycle.push(...path, node), true;
    state.set(node, "open");
    for (const next of edges.get(node) ?? []) if (visit(next, [...path, node])) return true;
    state.set(node, "done");
    return false;
  };
  for (const node of edges.keys()) if (visit(node, [])) break;
  assert.deepEqual(cycle, []);
});

Deno.test("the engine's sub-folders import only those before them, through mod.ts", () => {
  const bad: string[] = [];
  for (const [file, text] of texts) {
    const from = relative(lib, file);
    const parts = from.split("/");
    if (parts[0] !== "engine") continue;
    const mine = parts.length > 2 ? parts[1] : null;
    for (const target of importsOf(file, text)) {
      const tparts = target.split("/");
      if (tparts[0] !== "engine") continue;
      const theirs = tparts.length > 2 ? tparts[1] : null;
      if (theirs === mine) continue;
      if (mine !== null && theirs === null) bad.push(`${from} -> ${target} (the engine's top)`);
      else if (theirs !== null && target !== `engine/${theirs}/mod.ts`) {
        bad.push(`${from} -> ${target} (not through mod.ts)`);
      } else if (
        mine !== null && theirs !== null &&
        ENGINE_ORDER.indexOf(theirs) > ENGINE_ORDER.indexOf(mine)
      ) bad.push(`${from} -> ${target} (a later stage)`);
    }
  }
  assert.deepEqual(bad, []);
  const folders = [...new Set(sources.map((p) => relative(lib, p).split("/")))]
    .filter((parts) => parts[0] === "engine" && parts.length > 2).map((parts) => parts[1]);
  assert.deepEqual([...new Set(folders)].filter((f) => !ENGINE_ORDER.includes(f)), []);
});
