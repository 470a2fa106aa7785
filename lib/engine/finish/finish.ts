/**
 * Finishing a recording whose manifest is pushed: its `.cast` and `.json`
 * move to `done/` (across filesystems: copy, fsync, rename, unlink), and only
 * then is the checkpoint marked done. A file that is no longer the one this
 * generation describes stays where it is (it belongs to a newer generation).
 * An interrupted finish simply runs again; one cut off between its two moves
 * finds where the `.cast` went in the checkpoint (`moving_to`) and moves the
 * `.json` beside it.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { ensurePrivateDir, errorMessage, exists, fsyncDir, tempPathFor } from "../../sys/mod.ts";
import type { RecordingState } from "../../chunk/mod.ts";
import { failpoint } from "../core/mod.ts";
import { fingerprintMismatch, type StateUpdate } from "../cut/mod.ts";

/** Options for {@linkcode finishRecording}. */
export interface FinishOptions {
  /** `$ASCIINEMA_HOME/active`. */
  activeDir: string;
  /** `$ASCIINEMA_HOME/done`. */
  doneDir: string;
  /** Writes the checkpoint change. */
  update: StateUpdate;
  /** Wall time (for a free name in `done/`). */
  wall: () => Date;
  /**
   * Runs before the `.cast` moves to `to` (the text index's to-do is written
   * then, so a crash right after the move loses nothing).
   */
  beforeMove?: (to: string) => Promise<void>;
}

/** What a finish did. */
export interface FinishResult {
  /** Where the `.cast` went, or null when it was not this generation's to move. */
  movedTo: string | null;
}

function crossDevice(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "EXDEV" || /cross-device/i.test(errorMessage(error));
}

/** Moves `from` to `to` (a free name); across filesystems by copy, fsync, rename, unlink. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await Deno.rename(from, to);
    await fsyncDir(dirname(to));
    return;
  } catch (error) {
    if (!crossDevice(error)) throw error;
  }
  const tmp = tempPathFor(to);
  try {
    await Deno.copyFile(from, tmp);
    await Deno.chmod(tmp, 0o600);
    const handle = await Deno.open(tmp, { read: true, write: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
    await Deno.rename(tmp, to);
    await fsyncDir(dirname(to));
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await Deno.remove(from);
  await fsyncDir(dirname(from));
}

async function freeName(dir: string, name: string, ext: string, wall: () => Date) {
  const plain = join(dir, `${name}${ext}`);
  try {
    await Deno.lstat(plain);
  } catch {
    return plain;
  }
  return join(dir, `${name}.${wall().getTime()}${ext}`);
}

/** True when `castPath` is still exactly the file `state` describes (fully cut). */
export async function ownsFile(castPath: string, state: RecordingState): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(castPath, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  try {
    const info = await file.stat();
    if (!info.isFile || info.size !== state.cut_offset) return false;
    if (state.ino !== null && (info.ino ?? null) !== state.ino) return false;
    return (await fingerprintMismatch(file, state)) === null;
  } finally {
    file.close();
  }
}

/** Finishes `state` (updated in place). Throws when the move fails: retry later. */
export async function finishRecording(
  state: RecordingState,
  options: FinishOptions,
): Promise<FinishResult> {
  const castPath = join(options.activeDir, `${state.source}.cast`);
  const jsonPath = join(options.activeDir, `${state.source}.json`);
  const moveJson = (castTo: string) =>
    moveFile(jsonPath, join(dirname(castTo), `${basename(castTo, ".cast")}.json`)).catch(
      (error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      },
    );
  let movedTo: string | null = null;
  if (await ownsFile(castPath, state)) {
    await ensurePrivateDir(options.doneDir);
    const to = await freeName(options.doneDir, state.id, ".cast", options.wall);
    await options.beforeMove?.(to);
    // Where it goes is known before it goes: a crash between the two moves is finished later.
    await options.update(state, (current) => ({ ...current, moving_to: to }));
    await moveFile(castPath, to);
    movedTo = to;
    await moveJson(to);
  } else if (state.moving_to && !(await exists(castPath, { lstat: true }))) {
    // A finish cut off after its `.cast` moved: its `.json` follows it now. (A `.cast` back
    // under the name is a new recording's, and the `.json` beside it is that one's.)
    movedTo = state.moving_to;
    await moveJson(movedTo);
  }
  failpoint("finish.after-move");
  await options.update(state, (current) => ({ ...current, done: true }));
  return { movedTo };
}
