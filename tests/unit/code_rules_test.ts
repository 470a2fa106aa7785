/**
 * One answer per question, held by the source (issue 26): every error class
 * is a `KindedError`; the daemon has one event type; config.json has one
 * reader; each folder's `mod.ts` lists only the names used outside it.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

async function tsUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await tsUnder(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** Every TypeScript file of the repository (source, entry points, tests, benchmarks). */
const everything = new Map<string, string>();
for (const dir of ["lib", "launchd", "systemd", "tests", "bench"]) {
  for (const path of await tsUnder(join(root, dir))) {
    everything.set(relative(root, path), await Deno.readTextFile(path));
  }
}
for (const entry of ["daemon.ts", "setup.ts", "bootstrap.ts"]) {
  everything.set(entry, await Deno.readTextFile(join(root, entry)));
}
const source = [...everything].filter(([path]) =>
  !path.startsWith("tests/") && !path.startsWith("bench/")
);

Deno.test("every error class is a KindedError (lib/sys/errors.ts) or a subclass", () => {
  const plain = source.flatMap(([path, text]) =>
    [...text.matchAll(/class (\w+)(?:<[^>]*>)? extends Error\b/g)]
      .filter(([, name]) => name !== "KindedError")
      .map(([, name]) => `${path}: ${name}`)
  );
  assert.deepEqual(plain, []);
});

Deno.test("the daemon has one event type, told apart by kind", () => {
  const found = source.flatMap(([path, text]) => [
    ...[...text.matchAll(/^export (?:type|interface) (\w*Event)\b/gm)]
      .filter(([, name]) => name !== "DaemonEvent")
      .filter(() => /"push-failed"|"push-ok"/.test(text))
      .map(([, name]) => `${path}: ${name}`),
    ...[...text.matchAll(/\btype: "(push-failed|push-ok|behind|caught-up|public-refused)"/g)]
      .map(([, event]) => `${path}: event "${event}" told by type`),
  ]);
  assert.deepEqual(found, []);
});

Deno.test("config.json is read in one place (readConfigFile)", () => {
  const readers = source.flatMap(([path, text]) =>
    [...text.matchAll(/read(?!ConfigFile\b)\w*\([^)\n]*(?:\.config\b|\bconfigPath\b)[^)\n]*\)/g)]
      .filter(([call]) => !/activeDir|jsonPath|\.json`/.test(call))
      .map(([call]) => `${path}: ${call}`)
  );
  assert.deepEqual(readers.filter((line) => !line.startsWith("lib/sys/settings.ts")), []);
  assert.ok(!source.some(([, text]) => /\breadRawSettings\b/.test(text)));
});

Deno.test("each folder's mod.ts lists its exports, each used outside the folder", () => {
  const problems: string[] = [];
  for (const [path, text] of everything) {
    if (!path.startsWith("lib/") || !path.endsWith("/mod.ts")) continue;
    const folder = `${dirname(path)}/`;
    if (/^export \* from/m.test(text)) problems.push(`${path}: export *`);
    const outside = [...everything].filter(([other]) => !other.startsWith(folder));
    for (const [, list] of text.matchAll(/^export (?:type )?\{([^}]*)\}\s*from/gm)) {
      for (const item of list.split(",").map((part) => part.trim()).filter(Boolean)) {
        const name = item.replace(/^type\s+/, "").split(/\s+as\s+/).at(-1)!;
        const word = new RegExp(`\\b${name}\\b`);
        if (!outside.some(([, other]) => word.test(other))) problems.push(`${path}: ${name}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
