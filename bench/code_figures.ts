/**
 * The codebase figures of issue 26, counted the same way before and after the refactor:
 * `deno run --allow-read bench/code_figures.ts [root]`. Each figure is a pattern over the
 * source (lib/ and the entry points, not tests), so the numbers are comparable, not exact
 * semantics.
 *
 * @module
 */

const root = Deno.args[0] ?? ".";

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await sources(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

const lib = await sources("lib");
const entries = ["daemon.ts", "setup.ts", "bootstrap.ts"];
const files = new Map<string, string>();
for (const path of [...lib, ...entries]) {
  files.set(path, await Deno.readTextFile(`${root}/${path}`));
}

function count(pattern: RegExp, only?: (path: string) => boolean): number {
  let n = 0;
  for (const [path, text] of files) {
    if (only && !only(path)) continue;
    n += [...text.matchAll(new RegExp(pattern.source, pattern.flags.replace("g", "") + "g"))]
      .length;
  }
  return n;
}

const inLib = (path: string) => path.startsWith("lib/");
const figures: Record<string, number | string> = {};

// Errors.
const classes = [...files.values()].flatMap((t) => [
  ...t.matchAll(/^(?:export )?class (\w+)(?:<[^>]*>)? extends (\w+)/gm),
]);
const errorNames = new Set<string>();
for (let grew = true; grew;) {
  grew = false;
  for (const [, name, base] of classes) {
    if (!errorNames.has(name) && (base === "Error" || errorNames.has(base))) {
      errorNames.add(name), grew = true;
    }
  }
}
const kinded = new Set<string>(["KindedError"]);
for (let grew = true; grew;) {
  grew = false;
  for (const [, name, base] of classes) {
    if (!kinded.has(name) && kinded.has(base)) kinded.add(name), grew = true;
  }
}
errorNames.delete("KindedError");
figures["error classes"] = errorNames.size;
figures["  of which KindedError (or a subclass)"] = kinded.size - 1;
figures["  of which plain `extends Error`"] =
  classes.filter(([, n, b]) => b === "Error" && n !== "KindedError").length;
figures["hand-written message extractions"] = count(
  /\(\w+ as Error\)\??\.message|instanceof Error \? \w+\.(message|stack)|String\((e|err|error)\)/,
  (p) => p !== "lib/sys/errors.ts",
);
figures["Deno.exit in lib/"] = count(/Deno\.exit\(/, inLib);

// Time and waiting.
figures["clocks (now options / Clock types)"] = count(
  /now\??: \(\) => number;|^export interface Clock\b/m,
);
figures["daemon event types"] = count(
  /^export (?:type|interface) (?:EngineEvent|PolicyEvent|PushEvent|DaemonEvent)\b/m,
);
figures["ways to sleep (setTimeout promises, local sleep helpers)"] = count(
  /new Promise[^\n]*setTimeout\(\s*resolve|^(?:async )?function (?:sleep|delay|waitOrStop)\b/m,
  (p) => p !== "lib/sys/async.ts",
);
figures["hand-written polling loops (await a setTimeout promise)"] = count(
  /await new Promise[^\n]*setTimeout\(\s*resolve/,
);
figures["backoff formulas (2 ** n)"] = count(/2 \*\* |Math\.pow\(2/);
figures["wall-clock deadlines (Date.now() + ...)"] = count(/Date\.now\(\) \+ /);

// One answer per question.
figures["number-option parsers"] = count(
  /^(?:export )?function (?:parse|positive|whole)\w*(?:Int|Number|Count|Seconds|Positive|Option)\w*\(/m,
);
figures["config.json readers (readTextFile/readJson of paths.config)"] = count(
  /read\w*\([^)\n]*\.config\b/,
);

// Exports.
const exportRe =
  /^export (?:declare )?(?:async )?(?:function\*?|class|const|let|type|interface|enum) (\w+)/gm;
let exports = 0, outside = 0;
const others = [...files.entries()];
for (const [path, text] of files) {
  if (!inLib(path)) continue;
  const folder = path.split("/").slice(0, 2).join("/") + "/";
  for (const [, name] of text.matchAll(exportRe)) {
    exports++;
    const word = new RegExp(`\\b${name}\\b`);
    if (others.some(([p, t]) => !p.startsWith(folder) && word.test(t))) outside++;
  }
}
figures["exports in lib/"] = exports;
figures["  used outside their folder"] = outside;
figures["bootstrap.ts lines"] = files.get("bootstrap.ts")!.split("\n").length - 1;
figures["one-to-three-word JSDoc lines"] = count(/^\s*\/\*\* ?(?:\S+ ?){1,3}\*\/\s*$/m);
figures["files in lib/engine/ (top level)"] =
  lib.filter((p) => p.split("/").length === 3 && p.startsWith("lib/engine/")).length;

const width = Math.max(...Object.keys(figures).map((k) => k.length));
for (const [key, value] of Object.entries(figures)) console.log(`${key.padEnd(width)}  ${value}`);
