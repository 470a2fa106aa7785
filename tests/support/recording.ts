/**
 * Writing test recordings and their remotes: asciicast v2 lines appended to
 * a `.cast`, and a bare repository to push to.
 *
 * @module
 */
import { join } from "node:path";
import type { TestHome } from "./env.ts";

const encoder = new TextEncoder();

/** The asciicast v2 header every test recording starts with. */
export const V2_HEADER = '{"version": 2, "width": 80, "height": 24}\n';

/** `lines` output events tagged `tag` (one line each). */
export function eventLines(tag: string, lines: number, options: { pad?: number } = {}): string {
  let text = "";
  const pad = "=".repeat(options.pad ?? 0);
  for (let i = 0; i < lines; i++) text += JSON.stringify([i, "o", `${tag} ${i}${pad}\r\n`]) + "\n";
  return text;
}

/** Appends `lines` events to `path` (with a header when the file is new); returns its size. */
export async function appendBurst(
  path: string,
  tag: string,
  lines = 10,
  options: { pad?: number } = {},
): Promise<number> {
  const file = await Deno.open(path, { create: true, append: true });
  try {
    const head = (await file.stat()).size === 0 ? V2_HEADER : "";
    await file.write(encoder.encode(head + eventLines(tag, lines, options)));
    return (await file.stat()).size;
  } finally {
    file.close();
  }
}

/** A bare repository `name` inside the test home's root (created once). */
export function bareRemote(t: TestHome, name: string): string {
  const remote = join(t.root, name);
  try {
    Deno.statSync(remote);
  } catch {
    const out = new Deno.Command("git", {
      args: ["init", "--bare", "--quiet", remote],
      env: { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
      stderr: "piped",
    }).outputSync();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  }
  return remote;
}

/** The asciicast v3 header of test recordings. */
export const V3_HEADER = '{"version": 3, "term": {"cols": 80, "rows": 24}}\n';

/** The chunk ids on `branch` of the bare repository `gitDir`, sorted. */
export function remoteIds(gitDir: string, branch = "asciinema-recordings"): string[] {
  const out = new Deno.Command("git", {
    args: ["ls-tree", "--name-only", `refs/heads/${branch}`, "chunks/"],
    env: { GIT_DIR: gitDir, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)
    .map((path) => path.slice("chunks/".length)).sort();
}
