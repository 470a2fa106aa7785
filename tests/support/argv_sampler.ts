/**
 * Leak detectors for secrets: a sampler that reads every process's argv
 * (`/proc/<pid>/cmdline`) over and over while something runs, and a scan of
 * a directory tree's files. Both look for the secret and for the forms it
 * takes on the way (the base64 of `x-access-token:<secret>` in a Basic
 * header). Linux only (`/proc`).
 *
 * @module
 */
import { join } from "node:path";

/** The forms of `secret` worth looking for: itself and its Basic-auth base64. */
export function secretForms(secret: string): string[] {
  const basic = btoa(
    String.fromCharCode(...new TextEncoder().encode(`x-access-token:${secret}`)),
  );
  return [secret, basic];
}

/** What the sampler saw. */
export interface ArgvSamplerReport {
  /** Completed sweeps over /proc. */
  sweeps: number;
  /** Distinct (pid, argv) pairs seen. */
  processes: number;
  /** Command lines that contained a needle (the needle replaced by `<SECRET>`). */
  hits: string[];
  /** Command lines that matched one of the `watch` patterns (coverage proof). */
  watched: string[];
}

/** A running sampler. */
export interface ArgvSampler {
  /** Stops sampling and returns what was seen. */
  stop(): Promise<ArgvSamplerReport>;
}

/** Options for {@linkcode startArgvSampler}. */
export interface ArgvSamplerOptions {
  /** Strings that must never appear in any argv (see {@linkcode secretForms}). */
  needles: string[];
  /** Patterns of command lines to record (to show the sampler saw the processes of interest). */
  watch?: RegExp[];
  /** Pause between sweeps (default 1 ms). */
  intervalMs?: number;
}

function hide(text: string, needles: string[]): string {
  let out = text;
  for (const needle of needles) out = out.split(needle).join("<SECRET>");
  return out;
}

/** Starts sweeping /proc/[pid]/cmdline until `stop()`. */
export function startArgvSampler(options: ArgvSamplerOptions): ArgvSampler {
  const needles = options.needles.filter((needle) => needle.length > 0);
  const watch = options.watch ?? [];
  const seen = new Set<string>();
  const hits = new Set<string>();
  const watched = new Set<string>();
  const decoder = new TextDecoder();
  let sweeps = 0;
  let stopped = false;
  const self = String(Deno.pid);

  const sweep = async () => {
    const pids: string[] = [];
    for await (const entry of Deno.readDir("/proc")) {
      if (/^\d+$/.test(entry.name) && entry.name !== self) pids.push(entry.name);
    }
    await Promise.all(pids.map(async (pid) => {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(`/proc/${pid}/cmdline`);
      } catch {
        return; // exited meanwhile
      }
      if (bytes.length === 0) return;
      const line = decoder.decode(bytes).replace(/\0+$/, "").replaceAll("\0", " ");
      const key = `${pid} ${line}`;
      if (seen.has(key)) return;
      seen.add(key);
      if (needles.some((needle) => line.includes(needle))) hits.add(hide(line, needles));
      if (watch.some((pattern) => pattern.test(line))) watched.add(hide(line, needles));
    }));
    sweeps++;
  };

  const loop = (async () => {
    while (!stopped) {
      await sweep();
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1));
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      return { sweeps, processes: seen.size, hits: [...hits], watched: [...watched] };
    },
  };
}

/** Files under `dir` (recursively) whose bytes contain a needle; symlinks are not followed. */
export async function scanTreeForSecrets(dir: string, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  const encoded = needles.filter(Boolean).map((needle) => new TextEncoder().encode(needle));
  const contains = (haystack: Uint8Array, needle: Uint8Array) => {
    outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
      for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  };
  const walk = async (path: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (entry.isDirectory) await walk(child);
      else if (entry.isFile) {
        const bytes = await Deno.readFile(child).catch(() => new Uint8Array());
        if (encoded.some((needle) => contains(bytes, needle))) found.push(child);
      }
    }
  };
  await walk(dir);
  return found;
}
