/**
 * A recordings branch built to attack the person reading it: one recording
 * per hostile string of tests/support/hostile_text.ts, its id carrying the
 * string (git tree paths may hold controls), its manifest's `started` and
 * `ended` too, and a text index whose lines do; one more recording whose
 * chunk is damaged (so `verify` prints problems about a hostile id), and one
 * still in progress. For the terminal-escape tests.
 *
 * @module
 */
import { encodeIndexHeader, encodeIndexLine, textIndexPathOnBranch } from "../../lib/text/mod.ts";
import { chunkPathOnBranch } from "../../lib/chunk/mod.ts";
import { HOSTILE_STRINGS } from "./hostile_text.ts";
import { commitChanges, lineRanges, makeCast, pushRecording, zstdCompress } from "./fake_branch.ts";

const encoder = new TextEncoder();

/** The word every hostile index line holds (what `search` looks for). */
export const HOSTILE_NEEDLE = "needle";

/** A verify line a hostile id tries to forge. */
export const FORGED_OK = "ok    forged";

/** What {@linkcode pushHostileBranch} committed. */
export interface HostileBranch {
  /** Complete recordings with a hostile id, manifest times and text index. */
  complete: string[];
  /** The recording whose second chunk is damaged. */
  damaged: string;
  /** The recording without a manifest. */
  inProgress: string;
}

/**
 * Commits the hostile recordings to `branch` (default
 * `asciinema-recordings`) of the bare repository `gitDir`.
 */
export async function pushHostileBranch(
  gitDir: string,
  options: { branch?: string } = {},
): Promise<HostileBranch> {
  const branch = options.branch ?? "asciinema-recordings";
  const complete: string[] = [];
  for (const [index, hostile] of HOSTILE_STRINGS.entries()) {
    const id = `rec${index}-${hostile.text}`;
    const data = makeCast(6, { seed: `r${index}` });
    await pushRecording(gitDir, {
      branch,
      id,
      data,
      ranges: lineRanges(data, 2),
      manifest: { started: hostile.text, ended: `2024-01-02${hostile.text}` },
    });
    const index_ = encodeIndexHeader({ id, bytes: data.length, cols: 80, rows: 24 }) +
      encodeIndexLine({ t: 1, text: `${HOSTILE_NEEDLE} before ${hostile.text}` }) +
      encodeIndexLine({ t: 2, text: `${HOSTILE_NEEDLE} ${hostile.text} after` }) +
      encodeIndexLine({ t: 3, text: `context ${hostile.text}` });
    await commitChanges(gitDir, {
      branch,
      commits: [{
        message: `text index\n\nCast-Id: ${id}\n`,
        changes: [{
          path: textIndexPathOnBranch(id),
          content: await zstdCompress(encoder.encode(index_)),
        }],
      }],
    });
    complete.push(id);
  }
  const damaged = `bad\n${FORGED_OK}: 1 chunks, 1 bytes, complete\x1b[2K\r`;
  const data = makeCast(6, { seed: "bad" });
  const ranges = lineRanges(data, 2);
  await pushRecording(gitDir, { branch, id: damaged, data, ranges, manifest: true });
  await commitChanges(gitDir, {
    branch,
    commits: [{
      message: "tamper\n",
      changes: [{
        path: chunkPathOnBranch(damaged, ranges[1]),
        content: encoder.encode(`not zstd \x1b]52;c;aGk=\x07`),
      }],
    }],
  });
  const inProgress = `live\u009b2J\x1b]0;title\x07`;
  const live = makeCast(4, { seed: "live" });
  await pushRecording(gitDir, { branch, id: inProgress, data: live, ranges: lineRanges(live, 2) });
  return { complete, damaged, inProgress };
}
