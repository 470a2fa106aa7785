/**
 * Replaying our commits onto a remote tip that moved. Our commits only add
 * files, so "rebasing" is adding the same blobs again on top of the new tip,
 * in the same order, with the same messages. A constant number of git
 * processes does it, however many commits: one `rev-list`, one `diff-tree
 * --stdin`, one `cat-file --batch`, two `ls-tree` and one `fast-import`.
 *
 * Which folder each generation's files go to is decided by claims
 * (claim.ts): a folder whose first chunk on the remote tip is another's
 * moves, all of it, to `<folder>~<host>`; a manifest of a moved folder is
 * left out (it names its folder: the engine commits it again under the new
 * one).
 *
 * How the new tip relates to what we pushed last decides what is replayed:
 * - it follows it (another machine pushed): everything of ours it lacks;
 * - it went back to an older commit of the same history (a restored backup,
 *   a reset), then maybe on: everything of ours it lacks, the commits it
 *   lost included — they are pushed again;
 * - it is an unrelated history (a force-push): only what was never pushed,
 *   and what belongs to recordings still being made. What it no longer
 *   holds of the old history is reported, never pushed back wholesale.
 *
 * @module
 */
import { commitHeader, quoteFastImportPath } from "./fast_import.ts";
import { git, GitError, type GitOptions } from "./hermetic.ts";
import { type Claimant, folderNames, placeFolder, readFolders } from "./claim.ts";
import { PublishError } from "./target.ts";

/** How the remote's new tip relates to what was pushed last. */
export type History = "follows" | "diverged" | "unrelated";

/** What {@linkcode replayOnto} is given. */
export interface ReplayOptions {
  /** The bare repository. */
  gitDir: string;
  /** Daemon-owned git config. */
  globalConfig?: string;
  signal?: AbortSignal;
  /** Our branch tip (the commits to replay end here). */
  local: string;
  /** The remote's tip to replay onto (undefined: the branch is gone; the replay starts it anew). */
  remote?: string;
  /** Commits not to replay, nor what they reach (a shallow clone's boundary). */
  exclude?: readonly string[];
  /** The tip we last pushed (undefined: never pushed from this clone). */
  pushed?: string;
  /** Folders of generations still being made, with their claim tokens. */
  live: ReadonlyMap<string, string>;
  /** This machine's name (folder suffixes). */
  host: string;
}

/** A folder moved because the remote showed it as another's. */
export interface FolderMove {
  /** Where its files went. */
  folder: string;
  /** Its claim (the blob of its first chunk), when known. */
  token?: string;
}

/** What {@linkcode replayOnto} did. */
export interface ReplayResult {
  /** The new local tip (the remote tip when nothing was left to replay; undefined: nothing at all). */
  tip: string | undefined;
  /** How the remote tip relates to the last push. */
  history: History;
  /** Commits written on top of the remote tip. */
  replayed: number;
  /** Folders moved, by their old name. */
  moves: Map<string, FolderMove>;
  /** Folders the last push had that the remote no longer holds and that were not pushed again. */
  dropped: string[];
}

interface Add {
  mode: string;
  blob: string;
  path: string;
}

interface Commit {
  oid: string;
  message: string;
  adds: Add[];
}

const FOLDER = /^(chunks|recordings)\/([^/]+)\/(.+)$/;

function opts(options: ReplayOptions, extra: Partial<GitOptions> = {}): GitOptions {
  return {
    gitDir: options.gitDir,
    globalConfig: options.globalConfig,
    signal: options.signal,
    ...extra,
  };
}

async function checked(args: string[], options: GitOptions): Promise<string> {
  const result = await git(args, { timeoutMs: 300_000, ...options });
  if (!result.success) throw new GitError(args, result);
  return result.stdout;
}

/** True when `ancestor` is an ancestor of (or equal to) `commit`. */
export async function isAncestor(
  ancestor: string,
  commit: string,
  options: GitOptions,
): Promise<boolean> {
  const result = await git(["merge-base", "--is-ancestor", ancestor, commit], options);
  if (result.aborted || result.timedOut) throw new GitError(["merge-base"], result);
  return result.success;
}

async function hasMergeBase(a: string, b: string, options: GitOptions): Promise<boolean> {
  const result = await git(["merge-base", a, b], options);
  if (result.aborted || result.timedOut) throw new GitError(["merge-base"], result);
  return result.success && result.stdout.trim() !== "";
}

async function revList(include: string, exclude: string[], options: GitOptions): Promise<string[]> {
  const out = await checked(
    ["rev-list", "--reverse", include, ...exclude.map((oid) => `^${oid}`)],
    options,
  );
  return out.split("\n").filter(Boolean);
}

/** The files each commit adds, from one `git diff-tree --stdin`. */
async function addsOf(oids: string[], options: GitOptions): Promise<Map<string, Add[]>> {
  const adds = new Map<string, Add[]>();
  if (oids.length === 0) return adds;
  const out = await checked(
    ["diff-tree", "--stdin", "-r", "-z", "--root", "--no-renames", "--diff-filter=A"],
    { ...options, stdin: oids.join("\n") + "\n" },
  );
  const fields = out.split("\0");
  let current: Add[] | undefined;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (/^[0-9a-f]{40,64}$/.test(field)) {
      current = [];
      adds.set(field, current);
    } else if (field.startsWith(":") && current && i + 1 < fields.length) {
      const meta = field.slice(1).split(" ");
      if (meta.length >= 4) current.push({ mode: meta[1], blob: meta[3], path: fields[i + 1] });
      i++;
    }
  }
  return adds;
}

/** The messages of commits, from one `git log --no-walk --stdin`. */
async function messagesOf(oids: string[], options: GitOptions): Promise<Map<string, string>> {
  const messages = new Map<string, string>();
  if (oids.length === 0) return messages;
  const out = await checked(
    ["log", "--no-walk=unsorted", "--stdin", "-z", "--format=%H%n%B"],
    { ...options, stdin: oids.join("\n") + "\n" },
  );
  for (const record of out.split("\0")) {
    const eol = record.indexOf("\n");
    if (eol > 0) messages.set(record.slice(0, eol), record.slice(eol + 1));
  }
  return messages;
}

function renamedMessage(message: string, from: string, to: string): string {
  return message
    .replaceAll(`Cast-Id: ${from}\n`, `Cast-Id: ${to}\n`)
    .replace(
      new RegExp(`^(chunk|manifest|text index) ${escapeRegExp(from)}(?=[ \\n]|$)`),
      `$1 ${to}`,
    );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Replays our commits that `options.remote` lacks on top of it (see the
 * module doc); the local branch is not moved here, the caller moves it to
 * the returned tip.
 */
export async function replayOnto(options: ReplayOptions): Promise<ReplayResult> {
  const { local, remote, pushed } = options;
  const git_ = opts(options);
  let history: History = "follows";
  if (remote && pushed && pushed !== remote && !(await isAncestor(pushed, remote, git_))) {
    history = (await hasMergeBase(pushed, remote, git_)) ? "diverged" : "unrelated";
  }
  const result: ReplayResult = { tip: remote, history, replayed: 0, moves: new Map(), dropped: [] };
  if (remote && await isAncestor(local, remote, git_)) return result;
  let oids = await revList(local, [...(remote ? [remote] : []), ...options.exclude ?? []], git_);
  const adds = await addsOf(oids, git_);
  if (history === "unrelated" && pushed && remote) {
    // Only what was never pushed, and what belongs to recordings still being made.
    const wasPushed = new Set(await revList(pushed, [remote], git_));
    oids = oids.filter((oid) =>
      !wasPushed.has(oid) ||
      (adds.get(oid) ?? []).some((add) => options.live.has(FOLDER.exec(add.path)?.[2] ?? ""))
    );
    const before = await folderNames(options.gitDir, pushed, git_);
    const now = await folderNames(options.gitDir, remote, git_);
    result.dropped = [...before].filter((name) => !now.has(name) && !options.live.has(name))
      .sort();
  }
  const touched = new Set<string>();
  for (const oid of oids) {
    for (const add of adds.get(oid) ?? []) {
      const match = FOLDER.exec(add.path);
      if (match) touched.add(match[2]);
    }
  }
  const theirs = await readFolders(options.gitDir, remote, touched, {
    ...git_,
    candidatesFor: touched,
  });
  const ours = await readFolders(options.gitDir, local, touched, git_);
  // Which folder each touched folder's files go to.
  for (const folder of touched) {
    const chunkAdds = new Map<number, string>();
    const blobs = new Map<number, string>();
    for (const oid of oids) {
      for (const add of adds.get(oid) ?? []) {
        const match = FOLDER.exec(add.path);
        if (match?.[1] !== "chunks" || match[2] !== folder) continue;
        const seq = /^(\d{6,})_/.exec(match[3]);
        if (!seq) continue;
        chunkAdds.set(Number(seq[1]), match[3]);
        blobs.set(Number(seq[1]), add.blob);
      }
    }
    const claimant: Claimant = {
      token: options.live.get(folder) ?? ours.get(folder)?.first,
      pushedBefore: !chunkAdds.has(0),
      adds: chunkAdds,
      addBlobs: blobs,
    };
    const target = placeFolder(folder, claimant, theirs, options.host);
    if (target !== folder) result.moves.set(folder, { folder: target, token: claimant.token });
  }
  const messages = await messagesOf(oids, git_);
  const stream: string[] = [];
  const theirBlob = (path: string): string | undefined => {
    const match = FOLDER.exec(path);
    return match ? theirs.get(match[2])?.blobs.get(`${match[1]}/${match[3]}`) : undefined;
  };
  for (const oid of oids) {
    let message = messages.get(oid) ?? "";
    const lines: string[] = [];
    for (const add of adds.get(oid) ?? []) {
      const match = FOLDER.exec(add.path);
      const move = match ? result.moves.get(match[2]) : undefined;
      let path = add.path;
      if (match && move) {
        const [, top, folder, name] = match;
        // A manifest names its folder: the engine commits it again under the new one.
        if (top === "recordings" && name.startsWith("manifest.json")) continue;
        path = `${top}/${move.folder}/${name}`;
        message = renamedMessage(message, folder, move.folder);
      }
      // Never overwrite: what is there is identical, or another's.
      if (theirBlob(path) !== undefined) continue;
      lines.push(`M ${add.mode} ${add.blob} ${quoteFastImportPath(path)}\n`);
    }
    if (lines.length === 0) continue;
    stream.push(
      commitHeader("refs/chunker/replay", {
        message,
        parent: stream.length === 0 ? remote : undefined,
      }) + lines.join(""),
    );
  }
  if (stream.length === 0) return result;
  await git(["update-ref", "-d", "refs/chunker/replay"], git_);
  const imported = await git(["fast-import", "--quiet", "--done"], {
    ...git_,
    stdin: stream.join("") + "done\n",
    timeoutMs: 300_000,
  });
  if (!imported.success) {
    throw new PublishError("disk", `replaying commits failed: ${imported.stderr.trim()}`);
  }
  const tip = await git(["rev-parse", "--verify", "--quiet", "refs/chunker/replay^{commit}"], git_);
  await git(["update-ref", "-d", "refs/chunker/replay"], git_);
  if (!tip.success) throw new PublishError("disk", "replaying commits produced no commit");
  result.tip = tip.stdout.trim();
  result.replayed = stream.length;
  return result;
}
