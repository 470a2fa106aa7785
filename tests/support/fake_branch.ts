/**
 * Builds recordings branches for restore/list/verify tests without the
 * daemon: chunks of a `.cast` compressed with the `zstd` CLI and committed
 * one commit each, with the daemon's exact layout and trailers
 * (`chunks/<id>/<seq>_<start>-<end>.cast.zst`, `Cast-Id`/`Cast-Seq`/
 * `Cast-Range`/`Cast-Sha256`, `recordings/<id>/manifest.json`), through
 * `git fast-import` on a bare repository; with `recipients`, chunks from
 * `encryptFrom` on are `age(zstd(bytes))` (`.cast.zst.age`, no `Cast-Sha256`)
 * and the manifest is `manifest.json.age`. Also damages branches on purpose.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  chunkPathOnBranch,
  chunkSumPathOnBranch,
  compressRange,
  formatChunkSum,
  manifestPathOnBranch,
} from "../../lib/chunk/mod.ts";
import { git, gitChecked } from "../../lib/git/mod.ts";
import { chunkCommitMessage, quoteFastImportPath } from "../../lib/git/mod.ts";
import { encryptBytes } from "../../lib/crypto/mod.ts";
import { makeTestHome, type TestHome } from "./env.ts";

const encoder = new TextEncoder();

/** A byte range of the recording. */
export interface Range {
  /** Sequence number. */
  seq: number;
  /** Start (inclusive). */
  start: number;
  /** End (exclusive). */
  end: number;
}

/** sha256 hex of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Compresses bytes with the zstd CLI (one frame). */
export async function zstdCompress(bytes: Uint8Array, level = 3): Promise<Uint8Array> {
  const child = new Deno.Command("zstd", {
    args: [`-${level}`, "-q", "-c"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const writing = writer.write(bytes).then(() => writer.close());
  const [output] = await Promise.all([child.output(), writing]);
  if (!output.success) throw new Error(`zstd failed: ${new TextDecoder().decode(output.stderr)}`);
  return output.stdout;
}

/** An asciicast v2 recording of `lines` output events (deterministic content). */
export function makeCast(lines: number, options: { seed?: string } = {}): Uint8Array {
  const seed = options.seed ?? "x";
  const out = [JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1700000000 })];
  for (let i = 0; i < lines; i++) {
    const text = `${seed} line ${i} ${"é€".repeat(i % 7)} \u001b[1mbold\u001b[0m\r\n`;
    out.push(JSON.stringify([i * 0.25, "o", text]));
  }
  return encoder.encode(out.join("\n") + "\n");
}

/** Splits `data` into `count` ranges ending on newlines (whole lines each). */
export function lineRanges(data: Uint8Array, count: number): Range[] {
  const ranges: Range[] = [];
  let start = 0;
  for (let seq = 0; seq < count && start < data.length; seq++) {
    let end = seq === count - 1
      ? data.length
      : Math.max(start + 1, Math.round((data.length * (seq + 1)) / count));
    while (end < data.length && data[end - 1] !== 10) end++;
    ranges.push({ seq, start, end });
    start = end;
  }
  return ranges;
}

/** Creates an empty bare repository. */
export async function initBare(gitDir: string): Promise<void> {
  await Deno.mkdir(gitDir, { recursive: true });
  await gitChecked(["init", "--bare", "--quiet", gitDir]);
}

interface Change {
  path: string;
  /** New content, or null to delete. */
  content: Uint8Array | null;
}

/** Commits `changes` on `branch` with `message` (parent: the branch tip, if any). */
export async function commitChanges(
  gitDir: string,
  options: { branch: string; commits: { message: string; changes: Change[] }[]; time?: number },
): Promise<void> {
  const ref = `refs/heads/${options.branch}`;
  const tip = await git(["rev-parse", "--verify", "--quiet", ref], { gitDir });
  const parts: Uint8Array[] = [];
  let first = true;
  let time = options.time ?? 1_700_000_000;
  for (const commit of options.commits) {
    const message = encoder.encode(commit.message);
    let text =
      `commit ${ref}\ncommitter asciinema-chunker <asciinema-chunker@localhost> ${time++} +0000\n` +
      `data ${message.length}\n`;
    parts.push(encoder.encode(text), message, encoder.encode("\n"));
    text = first && tip.success ? `from ${tip.stdout.trim()}\n` : "";
    first = false;
    for (const change of commit.changes) {
      if (change.content === null) {
        text += `D ${quoteFastImportPath(change.path)}\n`;
      } else {
        text += `M 100644 inline ${
          quoteFastImportPath(change.path)
        }\ndata ${change.content.length}\n`;
        parts.push(encoder.encode(text), change.content, encoder.encode("\n"));
        text = "";
      }
    }
    parts.push(encoder.encode(text));
  }
  parts.push(encoder.encode("done\n"));
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const stream = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    stream.set(part, offset);
    offset += part.length;
  }
  const result = await git(["fast-import", "--quiet", "--done"], { gitDir, stdin: stream });
  if (!result.success) throw new Error(`fast-import failed: ${result.stderr}`);
}

/** Options for {@linkcode pushRecording}. */
export interface PushRecordingOptions {
  /** Branch (default `asciinema-recordings`). */
  branch?: string;
  /** Recording id. */
  id: string;
  /** The whole `.cast` content. */
  data: Uint8Array;
  /** The chunks to commit (default: the whole file in 4 chunks). */
  ranges?: Range[];
  /** Commit a manifest after the chunks (the recording ended). */
  manifest?: boolean | Record<string, unknown>;
  /** age recipients: chunks from `encryptFrom` on, and the manifest, are encrypted to them. */
  recipients?: string[];
  /** First sequence number encrypted (default 0). */
  encryptFrom?: number;
  /**
   * Each chunk's record beside it, as the daemon writes since issue 25
   * (`recordings/<id>/chunks/<seq>_<start>-<end>`); without, the branch is
   * in the older format (trailers only).
   */
  records?: boolean;
  /**
   * Commit messages without the `Cast-*` trailers (default with): what a
   * reader sees of a branch whose commits it does not have (a shallow clone)
   * — only records can tell the chunks' checksums and times then.
   */
  noTrailers?: boolean;
  /** Time of the first commit (Unix seconds; default 1,700,000,000), one second apart. */
  time?: number;
}

/** Commits chunks of `data` (and optionally the manifest) like the daemon does. */
export async function pushRecording(
  gitDir: string,
  options: PushRecordingOptions,
): Promise<Range[]> {
  const ranges = options.ranges ?? lineRanges(options.data, 4);
  const commits: { message: string; changes: Change[] }[] = [];
  const recipients = options.recipients ?? [];
  const time = options.time ?? 1_700_000_000;
  for (const range of ranges) {
    const raw = options.data.subarray(range.start, range.end);
    const encrypted = recipients.length > 0 && range.seq >= (options.encryptFrom ?? 0);
    const zstd = await zstdCompress(raw);
    const item = { id: options.id, ...range, sha256: sha256Hex(raw), encrypted };
    const record = {
      path: chunkSumPathOnBranch(options.id, range),
      content: encoder.encode(formatChunkSum({
        sha256: encrypted ? undefined : item.sha256,
        committed: time + commits.length,
      })),
    };
    commits.push({
      message: options.noTrailers
        ? `chunk ${options.id} #${range.seq}\n`
        : chunkCommitMessage(item),
      changes: [{
        path: chunkPathOnBranch(options.id, { ...range, encrypted }),
        content: encrypted ? await encryptBytes(zstd, recipients) : zstd,
      }, ...(options.records ? [record] : [])],
    });
  }
  if (options.manifest) {
    const total = ranges.length ? ranges[ranges.length - 1].end : 0;
    const manifest = {
      id: options.id,
      source: options.id,
      generation: 1,
      total_bytes: total,
      chunks: ranges.length,
      sha256: sha256Hex(options.data.subarray(0, total)),
      started: "2024-01-02T03:04:05.000Z",
      ended: "2024-01-02T04:05:06.000Z",
      asciicast_version: 2,
      ...(typeof options.manifest === "object" ? options.manifest : {}),
    };
    const body = encoder.encode(JSON.stringify(manifest, null, 2) + "\n");
    commits.push({
      message: `manifest ${options.id}\n\nCast-Id: ${options.id}\n`,
      changes: [{
        path: manifestPathOnBranch(options.id, { encrypted: recipients.length > 0 }),
        content: recipients.length ? await encryptBytes(body, recipients) : body,
      }],
    });
  }
  await commitChanges(gitDir, {
    branch: options.branch ?? "asciinema-recordings",
    commits,
    time,
  });
  return ranges;
}

/** Replaces (or with `content: null` deletes) one file on the branch in a new commit. */
export async function tamper(
  gitDir: string,
  options: { branch?: string; path: string; content: Uint8Array | null },
): Promise<void> {
  await commitChanges(gitDir, {
    branch: options.branch ?? "asciinema-recordings",
    commits: [{ message: "tamper\n", changes: [{ path: options.path, content: options.content }] }],
  });
}

/** The compressed bytes of a file on the branch. */
export async function readOnBranch(
  gitDir: string,
  options: { branch?: string; path: string },
): Promise<Uint8Array> {
  const output = await new Deno.Command("git", {
    args: [
      "cat-file",
      "blob",
      `refs/heads/${options.branch ?? "asciinema-recordings"}:${options.path}`,
    ],
    env: { GIT_DIR: gitDir, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return output.stdout;
}

/** Absolute path of daemon.ts. */
const DAEMON = new URL("../../daemon.ts", import.meta.url).pathname;

/** Runs `deno run -A daemon.ts <args>` with a test home's environment in `cwd`. */
export async function runDaemonCli(
  args: string[],
  options: { env: Record<string, string>; cwd: string },
): Promise<CliResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON, ...args],
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** What {@linkcode runDaemonCli} returns. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** What {@linkcode withFakeRemote} hands the test body. */
export interface FakeRemoteRig {
  /** The hermetic home. */
  t: TestHome;
  /** An empty bare repository, `<root>/remote.git`, to build branches in. */
  remote: string;
  /** An empty directory, `<root>/work`: the CLI's working directory. */
  work: string;
  /**
   * Runs `daemon.ts <args>` in `work` with the home's environment (or
   * `options.env`): {@linkcode runDaemonCli} with those filled in.
   */
  cli(args: string[], options?: { env?: Record<string, string> }): Promise<CliResult>;
}

/**
 * Creates a test home with an empty bare `remote.git` and an empty `work`
 * directory under its root, runs `body`, then removes the home whatever
 * happened.
 */
export async function withFakeRemote(body: (rig: FakeRemoteRig) => Promise<void>): Promise<void> {
  const t = await makeTestHome();
  try {
    const remote = join(t.root, "remote.git");
    await initBare(remote);
    const work = join(t.root, "work");
    await Deno.mkdir(work);
    await body({
      t,
      remote,
      work,
      cli: (args, options = {}) => runDaemonCli(args, { env: options.env ?? t.env, cwd: work }),
    });
  } finally {
    await t.cleanup();
  }
}

/** A spool-like chunk file: `text` compressed (zstd level 1) into `<dir>/<name>.zst`. */
export async function makeChunk(dir: string, text: string, name: string): Promise<string> {
  const source = join(dir, `${name}.src`);
  await Deno.writeTextFile(source, text);
  const output = join(dir, `${name}.zst`);
  await compressRange(source, { start: 0, end: text.length, output }, { level: 1 });
  return output;
}
