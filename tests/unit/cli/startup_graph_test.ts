/**
 * What the daemon loads at start: the modules `daemon.ts run` imports
 * statically (read from `deno info --json`) hold none of the packages only
 * other commands or later work need. The terminal emulator is loaded when a
 * recording is first rendered; the web viewer, the browser driver and the
 * setup prompts never.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const RUN = new URL("../../../lib/cli/run.ts", import.meta.url);
const NOT_AT_START = [
  "@xterm/headless",
  "@xterm/addon-unicode11",
  "asciinema-player",
  "puppeteer-core",
  "@inquirer/prompts",
];

interface Dependency {
  code?: { specifier?: string };
  isDynamic?: boolean;
}

/** The npm packages a module graph reaches through static imports from `root`. */
async function staticNpm(root: URL): Promise<Set<string>> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", fileURLToPath(root)],
    cwd: fileURLToPath(new URL("../../../", import.meta.url)),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(info.success, new TextDecoder().decode(info.stderr));
  const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    modules: { specifier: string; dependencies?: Dependency[] }[];
  };
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const npm = new Set<string>();
  const queue = [root.href];
  while (queue.length) {
    const specifier = queue.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      const target = dep.code?.specifier;
      if (!target || dep.isDynamic) continue;
      if (target.startsWith("npm:")) {
        npm.add(/^npm:\/?(@[^/@]+\/[^/@]+|[^/@]+)/.exec(target)![1]);
      } else queue.push(target);
    }
  }
  return npm;
}

Deno.test("daemon.ts run loads at start no package only other commands or later work need", async () => {
  const npm = await staticNpm(RUN);
  assert.ok(npm.has("zod") && npm.has("@logtape/logtape"), [...npm].join(", ")); // the walk works
  assert.deepEqual(NOT_AT_START.filter((name) => npm.has(name)), []);
});
