/**
 * Reads many blobs of a bare remote and decompresses many chunks with a
 * fixed number of processes: one `git cat-file --batch` for every blob, one
 * `zstd -d` for up to {@linkcode ZSTD_FILES_PER_CALL} chunks (each written
 * to a file of its own, so every chunk still decodes alone and a bad one
 * fails alone). The oracles of the end-to-end and torture tests read whole
 * branches: a process per chunk made reading them most of a test's CPU.
 *
 * Nothing from lib/: the oracles stay independent of the code they check.
 *
 * @module
 */
import { join } from "node:path";

const decoder = new TextDecoder();

/** Chunks decoded by one `zstd -d` (its argument list stays short). */
export const ZSTD_FILES_PER_CALL = 256;

/** Runs a program to completion with a clean environment and a hard timeout. */
async function output(
  program: string,
  options: { args: string[]; env?: Record<string, string>; stdin?: Uint8Array },
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const child = new Deno.Command(program, {
    args: options.args,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...options.env },
    clearEnv: true,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin).catch(() => {});
    await writer.close().catch(() => {});
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: decoder.decode(out.stderr) };
}

/**
 * Every blob named by `oids` in the bare repository `gitDir`, by id, with
 * one `git cat-file --batch`. Throws when one is missing.
 */
export async function readBlobs(gitDir: string, oids: string[]): Promise<Map<string, Uint8Array>> {
  const blobs = new Map<string, Uint8Array>();
  if (oids.length === 0) return blobs;
  const out = await output("git", {
    args: ["cat-file", "--batch"],
    env: {
      HOME: "/nonexistent",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_DIR: gitDir,
    },
    stdin: new TextEncoder().encode(oids.join("\n") + "\n"),
  });
  if (out.code !== 0) throw new Error(`git cat-file --batch failed: ${out.stderr}`);
  const data = out.stdout;
  let at = 0;
  while (at < data.length) {
    const eol = data.indexOf(10, at);
    const [oid, type, size] = decoder.decode(data.subarray(at, eol)).split(" ");
    if (type === "missing") throw new Error(`blob ${oid} is missing from the remote`);
    const length = Number(size);
    blobs.set(oid, data.slice(eol + 1, eol + 1 + length));
    at = eol + 1 + length + 1;
  }
  return blobs;
}

/**
 * Each of `blobs` decompressed on its own (null for one zstd cannot decode
 * whole), in order.
 */
export async function unzstdEach(blobs: readonly Uint8Array[]): Promise<(Uint8Array | null)[]> {
  const results: (Uint8Array | null)[] = [];
  if (blobs.length === 0) return results;
  const dir = await Deno.makeTempDir({ prefix: "unzstd-" });
  try {
    for (let first = 0; first < blobs.length; first += ZSTD_FILES_PER_CALL) {
      const group = blobs.slice(first, first + ZSTD_FILES_PER_CALL);
      const inputs = group.map((_, i) => join(dir, `${first + i}.zst`));
      const outDir = join(dir, `out-${first}`);
      await Deno.mkdir(outDir);
      await Promise.all(group.map((blob, i) => Deno.writeFile(inputs[i], blob)));
      // A chunk zstd cannot decode leaves no file; the others decode all the same.
      await output("zstd", { args: ["-d", "-q", "-f", "--output-dir-flat", outDir, ...inputs] });
      for (let i = 0; i < group.length; i++) {
        results.push(await Deno.readFile(join(outDir, `${first + i}`)).catch(() => null));
      }
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
