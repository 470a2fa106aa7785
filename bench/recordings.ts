/**
 * Synthetic asciicast v3 recordings for the benchmark: a deterministic block
 * of terminal-like output (prompts, commands, colored listings, logs, hashes)
 * that compresses roughly like a real session, repeated to reach any size
 * quickly. v3 event times are intervals, so a repeated block is still a valid
 * recording.
 *
 * @module
 */
import { sha256Range } from "../lib/chunk/mod.ts";

const encoder = new TextEncoder();

/** sha256 (hex) of a whole file. */
export async function sha256File(path: string): Promise<string> {
  return await sha256Range(path, 0, (await Deno.stat(path)).size);
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ter",
  "on",
  "rea",
  "dis",
  "pro",
  "ve",
  "xi",
  "sta",
  "ul",
  "bre",
  "con",
  "fig",
  "net",
  "sys",
  "git",
  "log",
  "ing",
];
const COMMANDS = ["ls -la", "git status", "make test", "cat", "grep -rn", "tail -f", "cargo build"];
const COLORS = ["\u001b[0m", "\u001b[1;34m", "\u001b[32m", "\u001b[33m", "\u001b[31m", "\u001b[2m"];

/** Options for {@linkcode castHeader}. */
export interface HeaderOptions {
  /** Unix time of the start. */
  timestamp?: number;
}

/** An asciicast v3 header line (with its newline). */
export function castHeader(options: HeaderOptions = {}): string {
  return JSON.stringify({
    version: 3,
    term: { cols: 120, rows: 40, type: "xterm-256color" },
    timestamp: options.timestamp ?? 1_700_000_000,
    command: "/bin/bash",
  }) + "\n";
}

/** The v3 exit event line that ends a recording. */
export const EXIT_EVENT = JSON.stringify([0.25, "x", "0"]) + "\n";

/**
 * About `bytes` bytes of v3 event lines (whole lines, ending with a
 * newline), the same for the same `seed`.
 */
export function eventBlock(bytes: number, seed = 1): Uint8Array {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const word = () => {
    let text = "";
    const parts = 1 + Math.floor(random() * 3);
    for (let i = 0; i < parts; i++) text += pick(SYLLABLES);
    return text;
  };
  const words = (count: number) => Array.from({ length: count }, word).join(" ");
  const hex = (length: number) => {
    let text = "";
    for (let i = 0; i < length; i++) text += "0123456789abcdef"[Math.floor(random() * 16)];
    return text;
  };
  const lines: string[] = [];
  let size = 0;
  let line = 0;
  while (size < bytes) {
    const kind = random();
    let data: string;
    if (kind < 0.08) {
      data = `\u001b[1;32muser@host\u001b[0m:\u001b[1;34m~/${word()}\u001b[0m$ ${
        pick(COMMANDS)
      } ${word()}\r\n`;
    } else if (kind < 0.4) {
      data = `${pick(COLORS)}${word()}.${pick(["ts", "md", "json", "rs"])}\u001b[0m  ${
        Math.floor(random() * 100000)
      }  ${words(2)}\r\n`;
    } else if (kind < 0.7) {
      data = `[${String(line).padStart(6, "0")}] ${pick(["INFO", "WARN", "DEBUG"])} ${
        words(4 + Math.floor(random() * 8))
      } id=${hex(8)}\r\n`;
    } else if (kind < 0.85) {
      data = `commit ${hex(40)}\r\n`;
    } else {
      data = `${words(1)}${pick(COLORS)}${" ".repeat(Math.floor(random() * 4))}`;
    }
    const event = JSON.stringify([Number((random() * 0.2).toFixed(6)), "o", data]) + "\n";
    lines.push(event);
    size += event.length;
    line++;
  }
  return encoder.encode(lines.join(""));
}

/** Options for {@linkcode writeRecording}. */
export interface WriteRecordingOptions {
  /** Size to reach (the file is a whole number of lines, at least this big). */
  bytes: number;
  /** Seed of the block (default 1). */
  seed?: number;
  /** The repeated block's size (default 4 MiB, bigger than zstd -3's 2 MiB window). */
  blockBytes?: number;
  /** End with the v3 exit event. */
  ended?: boolean;
}

/** Writes a recording of about `options.bytes` bytes to `path` (0600); returns its size. */
export async function writeRecording(
  path: string,
  options: WriteRecordingOptions,
): Promise<number> {
  const block = eventBlock(Math.min(options.blockBytes ?? 4 << 20, options.bytes), options.seed);
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    let size = 0;
    const put = async (bytes: Uint8Array) => {
      let done = 0;
      while (done < bytes.length) done += await file.write(bytes.subarray(done));
      size += bytes.length;
    };
    await put(encoder.encode(castHeader()));
    while (size < options.bytes) await put(block);
    if (options.ended) await put(encoder.encode(EXIT_EVENT));
    return size;
  } finally {
    file.close();
  }
}

/** A burst of `lines` output events (what one append to a live recording writes). */
export function burst(lines: number, seed: number): Uint8Array {
  const random = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    out.push(
      JSON.stringify([Number((random() * 0.05).toFixed(6)), "o", `output ${seed}.${i}\r\n`]) + "\n",
    );
  }
  return encoder.encode(out.join(""));
}
