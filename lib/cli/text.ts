/**
 * `daemon.ts text <id|FILE.cast> [-o FILE] [--timestamps]`: a recording as
 * the plain text its screen showed, from the committed index of a finished
 * recording or rendered from its chunks (up to the last pushed byte while it
 * is still being made); an argument ending in `.cast` or naming a path is a
 * local file, rendered as it is. On a terminal (standard output) controls in
 * the text are shown as escapes; `-o` writes the text exactly. Exit 0, or 1
 * when it cannot be read (with why, when the recording never reached the
 * branch and its file is here).
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { dirname, resolve } from "node:path";
import { readBranchRecordings, RestoreError } from "../branch/mod.ts";
import type { IndexLine } from "../text/mod.ts";
import { errorMessage, fsyncDir, tempPathFor, writeFully } from "../sys/mod.ts";
import {
  CastFormatError,
  formatTextLine,
  IndexFormatError,
  isLocalCast,
  LocalCastError,
  notBackedUpReason,
  readLocalText,
  readRecordingText,
} from "../text/mod.ts";
import { writeStdout } from "./logs.ts";
import { EXIT_USAGE, exitWith, printLine } from "./output.ts";
import {
  printError,
  type RestoreHooks,
  type SourceFlags,
  sourceOptions,
  withSignals,
} from "./restore.ts";
import { badIdArguments, ID_HELP, withBranchOptions } from "./options.ts";

/** Flags of `text`. */
export interface TextFlags extends SourceFlags {
  /** Write here (atomically, 0600) instead of standard output. */
  output?: string;
  /** Prefix each line with `[hh:mm:ss]` into the recording. */
  timestamps?: boolean;
  /** Render from the chunks even when an index is committed. */
  render?: boolean;
}

/** Writes text to a private temporary file beside `path`, then moves it into place. */
class FileOut {
  #path: string;
  #tmp: string;
  #file: Deno.FsFile;
  #encoder = new TextEncoder();

  private constructor(path: string, tmp: string, file: Deno.FsFile) {
    this.#path = path;
    this.#tmp = tmp;
    this.#file = file;
  }

  static async open(path: string): Promise<FileOut> {
    const tmp = tempPathFor(path);
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    return new FileOut(path, tmp, file);
  }

  async write(text: string): Promise<void> {
    await writeFully(this.#file, this.#encoder.encode(text));
  }

  async commit(): Promise<void> {
    await this.#file.sync();
    this.#file.close();
    await Deno.rename(this.#tmp, this.#path);
    await fsyncDir(dirname(this.#path));
  }

  async abandon(): Promise<void> {
    try {
      this.#file.close();
    } catch {
      // closed already
    }
    await Deno.remove(this.#tmp).catch(() => {});
  }
}

/** Runs `text`; returns the exit code. */
async function runText(
  id: string,
  flags: TextFlags,
  hooks: RestoreHooks = {},
): Promise<number> {
  if (!isLocalCast(id) && badIdArguments([id])) return EXIT_USAGE;
  return await withSignals(async (signal) => {
    const path = flags.output ? resolve(flags.output) : undefined;
    const out = path ? await FileOut.open(path) : undefined;
    const write = out ? (text: string) => out.write(text) : writeStdout;
    let pending = "";
    const onLines = async (lines: IndexLine[]) => {
      for (const line of lines) {
        pending += formatTextLine(line, flags.timestamps ?? false, { terminal: !out });
      }
      if (pending.length >= 1 << 16) {
        await write(pending);
        pending = "";
      }
    };
    try {
      if (isLocalCast(id)) {
        const local = await readLocalText(id, onLines);
        await write(pending);
        await out?.commit();
        if (path) printLine(`Wrote ${local.lines} lines of ${id} to ${path}`);
        return 0;
      }
      const source = sourceOptions(flags, hooks, signal);
      const result = await readBranchRecordings(
        { ...source, id, ids: [id] },
        async (view) => [
          await readRecordingText(view, id, {
            useIndex: !flags.render,
            signal,
            identities: source.identities,
            onLines,
          }),
        ],
      );
      await write(pending);
      for (const note of result.notes) printLine(`note: ${note}`);
      const read = result.recordings[0];
      if (!read) {
        printLine(
          `asciinema-chunker: ${result.branch} of ${result.url} does not exist: nothing was ` +
            "backed up there yet (check --repo and --branch).",
        );
        const why = await notBackedUpReason(id);
        if (why) printLine(`asciinema-chunker: ${why}`);
        await out?.abandon();
        return 1;
      }
      if (read.note) printLine(`note: ${read.note}`);
      if (!read.manifest) {
        printLine(
          `note: ${id} is still being recorded (no manifest): this is its text up to the last ` +
            "pushed chunk.",
        );
      }
      await out?.commit();
      if (path) printLine(`Wrote ${read.lines} lines of ${id} to ${path}`);
      return 0;
    } catch (error) {
      await out?.abandon();
      if (error instanceof RestoreError && error.kind === "not_found") {
        // Never backed up: its file here says why.
        const why = await notBackedUpReason(id);
        printLine(`asciinema-chunker: ${error.message}`);
        if (why) printLine(`asciinema-chunker: ${why}`);
        return 1;
      }
      if (printError(error)) return 1;
      if (
        error instanceof RestoreError || error instanceof CastFormatError ||
        error instanceof IndexFormatError || error instanceof LocalCastError
      ) {
        printLine(`asciinema-chunker: ${errorMessage(error)}`);
        return 1;
      }
      throw error;
    }
  });
}

/** `daemon.ts text`: a recording's text, from its index or rendered from its chunks. */
export function textCommand(hooks: RestoreHooks = {}) {
  return withBranchOptions(
    new Command("text")
      .description("print a recording (or a local .cast file) as the plain text its screen showed")
      .argument("<id>", `${ID_HELP}; or a local file: FILE.cast, or any path with a /`)
      .option("-o, --output <file>", "write to this file (replaced atomically) instead of stdout")
      .option("--timestamps", "prefix each line with [hh:mm:ss] into the recording")
      .option("--render", "render from the chunks even when a text index is committed"),
  ).action(async (id, options) => {
    const code = await runText(id, options, hooks);
    exitWith(code);
  });
}
