/**
 * The year figures of `deno task bench` (`--only year`): what reads and a
 * new machine cost on a branch with a year of history, against a short
 * branch holding the same recordings.
 *
 * Two bare repositories are generated in the daemon's own layout with
 * fast-import (tests/support/long_branch.ts): `recordings` recordings of
 * `chunks` chunks (about 850 bytes each: whole asciicast lines, the last
 * recording still in progress) with their records and manifests, and the
 * text index of every second finished recording. The long one has one
 * commit per chunk and per manifest (1,000 x 100 chunks: 101,000 commits,
 * what a person recording every working day pushes in a year), the short
 * one the same tree in two commits. Then, each as `deno run -A daemon.ts`
 * (start-up included), the median of three runs on each branch:
 *
 * - `list`; `verify <id>`, `restore <id>` of a finished 100-chunk recording;
 * - `search` for a literal that one recording holds, over every recording
 *   (half of them read from their index, half rendered);
 * - a new machine's first push: a daemon with an empty home whose
 *   `repo_url` is the branch, one new recording; until its first chunk is
 *   on the remote; then the size of that daemon's clone (`count-objects`);
 * - upkeep: that clone (the long one) taking 200 more pushes with the
 *   daemon's upkeep policy; the most loose objects and packs it held.
 *
 * @module
 */
import { join } from "node:path";
import {
  commitFiles,
  countObjects,
  DEFAULT_UPKEEP,
  gitChecked,
  type ObjectCounts,
  RepoClone,
} from "../lib/git/mod.ts";
import { buildTextIndex } from "../lib/text/mod.ts";
import { compressRange } from "../lib/chunk/mod.ts";
import { DEFAULT_BRANCH, run } from "../lib/sys/mod.ts";
import { DAEMON_TS, startDaemon, writeConfig } from "../tests/support/daemon.ts";
import { makeTestHome, type TestHome } from "../tests/support/env.ts";
import {
  generateBranch,
  needleOf,
  recordingCast,
  recordingId,
} from "../tests/support/long_branch.ts";
import { type Figure, median, othersCores, ratioFigure, round, snapshot } from "./figure.ts";
import { readTip } from "./remote.ts";
import { castHeader, EXIT_EVENT } from "./recordings.ts";
import { IDLE_THRESHOLD, log, sleep, stopDaemon } from "./rig.ts";

/** The size of the year: recordings and chunks of each. */
export interface YearOptions {
  /** Recordings (default 1,000). */
  recordings: number;
  /** Chunks of each (default 100). */
  chunks: number;
}

const LINES_PER_CHUNK = 10;
const RUNS = 3;
const UPKEEP_PUSHES = 200;
const SHORT = "the same on the short branch";

/** Runs `daemon.ts <args>`; its wall time in ms. */
async function cli(home: TestHome, args: string[]): Promise<{ ms: number; stdout: string }> {
  const start = performance.now();
  const result = await run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON_TS, ...args],
    env: home.env,
    clearEnv: true,
    cwd: home.root,
    timeoutMs: 900_000,
  });
  const ms = performance.now() - start;
  if (!result.success) throw new Error(`daemon.ts ${args.join(" ")}: ${result.stderr}`);
  return { ms, stdout: result.stdout };
}

/** Commits the text index of every second finished recording on `gitDir`'s branch. */
async function addTextIndexes(
  gitDirs: string[],
  options: YearOptions,
): Promise<number> {
  const shape = { chunks: options.chunks, linesPerChunk: LINES_PER_CHUNK };
  const files = [];
  for (let n = 0; n < options.recordings - 1; n += 2) {
    const cast = recordingCast(n, shape);
    files.push(
      await buildTextIndex((sink) => sink(cast), { id: recordingId(n), bytes: cast.length }),
    );
  }
  const ref = `refs/heads/${DEFAULT_BRANCH}`;
  for (const gitDir of gitDirs) {
    const parent = (await gitChecked(["rev-parse", ref], { gitDir })).trim();
    await commitFiles(gitDir, files, {
      ref,
      parent,
      message: `text index of ${files.length} recordings\n`,
    });
  }
  return files.length;
}

/** A daemon with an empty home backing one new recording up to `remote`; until its first chunk is there. */
async function firstPush(
  remote: string,
  label: string,
): Promise<{ ms: number; clone: ObjectCounts; cloneDir: string; home: TestHome }> {
  const home = await makeTestHome(`bench-year-${label}-`);
  await writeConfig(home.paths.home, { repo_url: remote, idle_threshold: IDLE_THRESHOLD });
  await Deno.mkdir(home.paths.active, { recursive: true, mode: 0o700 });
  const id = `new-machine-${label}`;
  await Deno.writeTextFile(
    join(home.paths.active, `${id}.cast`),
    castHeader() + JSON.stringify([0.5, "o", "first output on a new machine\r\n"]) + "\n" +
      EXIT_EVENT,
  );
  const before = await readTip(remote, DEFAULT_BRANCH);
  const start = performance.now();
  const daemon = startDaemon(home.env);
  let ms = 0;
  try {
    const deadline = start + 900_000;
    let seen = before;
    while (performance.now() < deadline) {
      const tip = await readTip(remote, DEFAULT_BRANCH);
      if (tip && tip !== seen) {
        seen = tip;
        const listed = await gitChecked(["ls-tree", "--name-only", tip, "--", `chunks/${id}/`], {
          gitDir: remote,
        });
        if (listed.trim()) {
          ms = performance.now() - start;
          break;
        }
      }
      await sleep(20);
    }
    if (!ms) throw new Error(`${id} never reached the remote`);
  } finally {
    await stopDaemon(daemon);
  }
  const repos = home.paths.repos;
  const [cloneName] = (await Array.fromAsync(Deno.readDir(repos))).map((e) => e.name);
  const cloneDir = join(repos, cloneName);
  return { ms, clone: (await countObjects(cloneDir))!, cloneDir, home };
}

/** 200 pushes through the daemon's clone of the long branch with the daemon's upkeep policy. */
async function upkeep(
  cloneDir: string,
  remote: string,
  root: string,
): Promise<{ before: ObjectCounts; after: ObjectCounts; most: ObjectCounts; ms: number }> {
  const clone = new RepoClone({ url: remote, branch: DEFAULT_BRANCH }, { gitDir: cloneDir });
  await clone.ensure();
  const before = (await countObjects(cloneDir))!;
  const most = { ...before };
  const source = join(root, "upkeep.src");
  const start = performance.now();
  let offset = 0;
  for (let seq = 0; seq < UPKEEP_PUSHES; seq++) {
    const text = JSON.stringify([seq * 0.5, "o", `upkeep push ${seq}\r\n`]) + "\n";
    await Deno.writeTextFile(source, text);
    const file = join(root, `upkeep-${seq}.zst`);
    const chunk = await compressRange(source, { start: 0, end: text.length, output: file }, {
      level: 1,
    });
    await clone.commit([{
      id: "bench-upkeep",
      seq,
      start: offset,
      end: offset + text.length,
      sha256: chunk.sha256,
      file,
    }]);
    await clone.push();
    offset += text.length;
    const counts = (await countObjects(cloneDir))!;
    most.loose = Math.max(most.loose, counts.loose);
    most.packs = Math.max(most.packs, counts.packs);
    await Deno.remove(file);
  }
  return { before, after: (await countObjects(cloneDir))!, most, ms: performance.now() - start };
}

/** The year figures; see the module. */
export async function yearFigures(hz: number, options: YearOptions): Promise<Figure[]> {
  const home = await makeTestHome("bench-year-");
  const others: TestHome[] = [];
  try {
    const long = join(home.root, "long.git");
    const short = join(home.root, "short.git");
    const shape = {
      recordings: options.recordings,
      chunksPerRecording: options.chunks,
      linesPerChunk: LINES_PER_CHUNK,
      records: true,
      inProgress: 1,
    };
    log(`year: generating ${options.recordings} recordings x ${options.chunks} chunks, long`);
    const generated = performance.now();
    const made = await generateBranch(long, {
      ...shape,
      history: "long",
      onProgress: (commits) => log(`year: ${commits} commits`),
    });
    const generateMs = performance.now() - generated;
    log(`year: ${made.commits} commits in ${(generateMs / 1000).toFixed(1)} s; the short branch`);
    const shortFrom = performance.now();
    await generateBranch(short, { ...shape, history: "short" });
    const shortMs = performance.now() - shortFrom;
    log("year: text indexes of every second finished recording");
    const indexes = await addTextIndexes([long, short], options);
    const commits = Number(
      (await gitChecked(["rev-list", "--count", DEFAULT_BRANCH], { gitDir: long })).trim(),
    );

    const id = recordingId(Math.floor(options.recordings / 2) + 1);
    const needle = needleOf(Math.floor(options.recordings / 3));
    const output = join(home.root, "restored.cast");
    const ops: { key: string; name: string; args: string[] }[] = [
      { key: "year_list", name: "list", args: ["list", "--json"] },
      { key: "year_verify", name: `verify <id> (${options.chunks} chunks)`, args: ["verify", id] },
      {
        key: "year_restore",
        name: `restore <id> (${options.chunks} chunks)`,
        args: ["restore", id, "-o", output, "--force"],
      },
      {
        key: "year_search",
        name: `search (${options.recordings} recordings, ${indexes} indexed)`,
        args: ["search", needle],
      },
    ];
    const figures: Figure[] = [];
    for (const op of ops) {
      log(`year: ${op.name}, ${RUNS} runs on each branch`);
      const times: Record<string, number[]> = { long: [], short: [] };
      const from = snapshot();
      let out = "";
      for (let i = 0; i < RUNS; i++) {
        for (const [label, repo] of [["long", long], ["short", short]] as const) {
          const result = await cli(home, [...op.args, "--repo", repo]);
          times[label].push(result.ms);
          out = result.stdout;
        }
      }
      if (op.key === "year_search" && !out.includes(needle)) {
        throw new Error("search found nothing");
      }
      figures.push(ratioFigure({
        key: op.key,
        name: `year: ${op.name}`,
        ms: median(times.long),
        baseline: { ms: median(times.short), what: SHORT },
        most: 1.5,
        details: {
          runs_long_s: times.long.map((ms) => round(ms / 1000, 2)),
          runs_short_s: times.short.map((ms) => round(ms / 1000, 2)),
          how: `deno run -A daemon.ts ${op.args.join(" ")} --repo <branch> (start-up included)`,
          others_cores: othersCores(from, snapshot(), hz),
        },
      }));
    }

    log("year: a new machine's first push, short then long");
    const pushFrom = snapshot();
    const shortPush = await firstPush(short, "short");
    others.push(shortPush.home);
    const longPush = await firstPush(long, "long");
    others.push(longPush.home);
    const pushOthers = othersCores(pushFrom, snapshot(), hz);
    figures.push(ratioFigure({
      key: "year_first_push",
      name: "year: a new machine's first push",
      ms: longPush.ms,
      baseline: { ms: shortPush.ms, what: SHORT },
      most: 2,
      details: {
        how: "a daemon with an empty home and repo_url the branch (a local path): from its " +
          "start until a new recording's first chunk is on the remote",
        others_cores: pushOthers,
      },
    }));
    const size = (counts: ObjectCounts) => counts.packKiB + counts.looseKiB;
    const sizeRatio = size(longPush.clone) / size(shortPush.clone);
    figures.push({
      key: "year_clone_size",
      name: "year: the daemon's clone",
      value: round(size(longPush.clone) / 1024, 1),
      unit: "MiB",
      shown: `${(size(longPush.clone) / 1024).toFixed(1)} MiB`,
      baseline: {
        what: SHORT,
        value: round(size(shortPush.clone) / 1024, 1),
        unit: "MiB",
        shown: `${(size(shortPush.clone) / 1024).toFixed(1)} MiB`,
      },
      ratio: round(sizeRatio, 2),
      target: "<= 1.5x",
      met: sizeRatio <= 1.5,
      details: { long: longPush.clone, short: shortPush.clone },
    });

    log(`year: upkeep, ${UPKEEP_PUSHES} pushes through the long branch's clone`);
    const kept = await upkeep(longPush.cloneDir, long, home.root);
    const bounded = kept.most.loose < DEFAULT_UPKEEP.loose + 50 * 10 &&
      kept.most.packs < DEFAULT_UPKEEP.packs + 10;
    figures.push({
      key: "year_upkeep",
      name: `year: upkeep (${UPKEEP_PUSHES} pushes)`,
      value: kept.most.loose,
      unit: "loose objects at most",
      shown: `at most ${kept.most.loose} loose objects, ${kept.most.packs} packs; ` +
        `${(size(kept.after) / 1024).toFixed(1)} MiB after (${
          (size(kept.before) / 1024).toFixed(1)
        } before)`,
      target: `loose < ${DEFAULT_UPKEEP.loose + 500}, packs < ${DEFAULT_UPKEEP.packs + 10}`,
      met: bounded,
      details: {
        before: kept.before,
        after: kept.after,
        most: kept.most,
        policy: DEFAULT_UPKEEP,
        pushes_s: round(kept.ms / 1000, 1),
      },
    });
    for (const figure of figures) {
      figure.details = {
        ...figure.details,
        recordings: options.recordings,
        chunks_per_recording: options.chunks,
        commits_long: commits,
        generate_long_s: round(generateMs / 1000, 1),
        generate_short_s: round(shortMs / 1000, 1),
      };
    }
    return figures;
  } finally {
    for (const other of others) await other.cleanup();
    await home.cleanup();
  }
}
