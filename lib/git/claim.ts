/**
 * Who a chunk folder on the branch belongs to (DESIGN.md invariants 9, 11
 * and 15: one folder, one generation of one file on one machine).
 *
 * A generation's claim on its folder is its first chunk: the blob of
 * `chunks/<folder>/000000_…` (a zstd frame of the file's first line, or an
 * age file: unique to that generation). It reaches the remote in the same
 * commit and push as that chunk, so whoever pushes first owns the folder;
 * the other side, replaying its commits on top, finds a first chunk that is
 * not its own and moves *all* of that generation's chunks (and manifest, and
 * index) to one other folder, `<folder>~<host>` (then `~<host>-2`, ...). The
 * claim is read from the tree alone (no blob is read: a filtered clone has
 * the trees, not every blob), and adds no file to the branch.
 *
 * A chunk of ours whose sequence number the folder holds with another range
 * (or the same name with other bytes) is a collision, never a new chunk. A
 * generation that does not know its first chunk (it resumed from a branch
 * written before claims) owns a folder only where it pushed before.
 *
 * @module
 */
import { hostname } from "node:os";
import { parseChunkName } from "../chunk/mod.ts";
import { git, GitError } from "./hermetic.ts";

/** This machine's name as used in folder suffixes: `[A-Za-z0-9._-]` only. */
export function hostTag(host: string = hostname()): string {
  return host.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[-.]+/, "") || "host";
}

/** The folders a generation moves to when `folder` is not its own, in order of preference. */
export function* folderCandidates(folder: string, host: string, most = 64): Generator<string> {
  const tag = hostTag(host);
  yield `${folder}~${tag}`;
  for (let n = 2; n <= most; n++) yield `${folder}~${tag}-${n}`;
}

/** What a tree holds of one folder: its first chunk (the claim) and its chunks. */
export interface FolderView {
  /** The blob of its chunk #0: whose folder it is (undefined: none there). */
  first?: string;
  /** Chunk file names by sequence number (`chunks/<folder>/`). */
  chunks: Map<number, string>;
  /** Anything at all is there (chunks, a manifest, an index). */
  used: boolean;
  /** Blob ids by `chunks/<name>` or `recordings/<name>` (a chunk's record: `recordings/chunks/<name>`). */
  blobs: Map<string, string>;
}

/** What a generation brings to a folder. */
export interface Claimant {
  /** Its claim: the blob of its first chunk (undefined: not known). */
  token?: string;
  /** It pushed chunks into this folder before (known from its checkpoint). */
  pushedBefore: boolean;
  /** The chunks it adds: name by sequence number. */
  adds: Map<number, string>;
  /** The blobs of the chunks it adds, by sequence number, where known. */
  addBlobs?: Map<number, string>;
}

/** Whose a folder is, for a generation that wants to write into it. */
export type Ownership = "ours" | "free" | "foreign";

/** A chunk of ours whose sequence number the folder holds with another range or other bytes. */
function collides(view: FolderView, claimant: Claimant): boolean {
  for (const [seq, name] of claimant.adds) {
    const there = view.chunks.get(seq);
    if (there === undefined) continue;
    if (there !== name) return true;
    const ours = claimant.addBlobs?.get(seq);
    if (ours !== undefined && view.blobs.get(`chunks/${there}`) !== ours) return true;
  }
  return false;
}

/** Decides whether `claimant` may write into a folder the tree shows as `view`. Pure. */
export function ownership(view: FolderView | undefined, claimant: Claimant): Ownership {
  if (!view || !view.used) return "free";
  if (collides(view, claimant)) return "foreign";
  if (view.first !== undefined && claimant.token !== undefined) {
    return view.first === claimant.token ? "ours" : "foreign";
  }
  // Its first chunk unknown on one side: ours only where we pushed before.
  return claimant.pushedBefore ? "ours" : "foreign";
}

/**
 * The first folder `claimant` may write into: `folder` itself when it is
 * ours or free, else the first of {@linkcode folderCandidates} that is.
 * `views` must hold every candidate that exists in the tree.
 */
export function placeFolder(
  folder: string,
  claimant: Claimant,
  views: ReadonlyMap<string, FolderView>,
  host: string,
): string {
  if (ownership(views.get(folder), claimant) !== "foreign") return folder;
  const fresh: Claimant = { ...claimant, pushedBefore: false };
  for (const candidate of folderCandidates(folder, host)) {
    if (ownership(views.get(candidate), fresh) !== "foreign") return candidate;
  }
  throw new Error(`no free folder for ${folder}: 64 others are taken`);
}

/** Options for reading a tree. */
export interface TreeReadOptions {
  /** Daemon-owned git config. */
  globalConfig?: string;
  signal?: AbortSignal;
}

/**
 * The views of `folders` (and, when `candidatesFor` is given, of every
 * folder whose name starts with one of them followed by `~`) in the tree of
 * `commit`, from two `git ls-tree` calls (names only; no blob is read).
 */
export async function readFolders(
  gitDir: string,
  commit: string | undefined,
  folders: Iterable<string>,
  options: TreeReadOptions & { candidatesFor?: Iterable<string> } = {},
): Promise<Map<string, FolderView>> {
  const views = new Map<string, FolderView>();
  if (!commit) return views;
  const wanted = new Set(folders);
  const bases = [...options.candidatesFor ?? []];
  if (bases.length) {
    const byPrefix = await foldersByPrefix(gitDir, commit, options);
    for (const base of bases) for (const name of byPrefix.get(base) ?? []) wanted.add(name);
  }
  if (wanted.size === 0) return views;
  const specs = [...wanted].flatMap((folder) => [`chunks/${folder}/`, `recordings/${folder}/`]);
  const args = ["--literal-pathspecs", "ls-tree", "-r", "-z", commit, "--", ...specs];
  const result = await git(args, { gitDir, ...options, timeoutMs: 120_000 });
  if (!result.success) throw new GitError(args.slice(1), result);
  for (const record of result.stdout.split("\0")) {
    const tab = record.indexOf("\t");
    const match = tab < 0
      ? null
      : /^(chunks|recordings)\/([^/]+)\/(.+)$/.exec(record.slice(tab + 1));
    if (!match || !wanted.has(match[2])) continue;
    const [, top, folder, name] = match;
    let view = views.get(folder);
    if (!view) views.set(folder, view = { chunks: new Map(), used: false, blobs: new Map() });
    view.used = true;
    const blob = record.slice(0, tab).split(" ")[2];
    view.blobs.set(`${top}/${name}`, blob);
    if (top === "chunks" && !name.includes("/")) {
      const range = parseChunkName(name);
      if (range) view.chunks.set(range.seq, name);
      if (range?.seq === 0) view.first = blob;
    }
  }
  return views;
}

/**
 * The folder names at `commit` under their own name and under every prefix
 * before a `~` (`a~host-2` under `a~host-2` and `a`): the folders that may
 * belong to a base name, found in one pass over the names.
 */
export async function foldersByPrefix(
  gitDir: string,
  commit: string,
  options: TreeReadOptions = {},
): Promise<Map<string, Set<string>>> {
  const byPrefix = new Map<string, Set<string>>();
  const add = (key: string, name: string) => {
    let set = byPrefix.get(key);
    if (!set) byPrefix.set(key, set = new Set());
    set.add(name);
  };
  for (const name of await folderNames(gitDir, commit, options)) {
    for (let at = name.indexOf("~"); at >= 0; at = name.indexOf("~", at + 1)) {
      add(name.slice(0, at), name);
    }
    add(name, name);
  }
  return byPrefix;
}

const namesCache = new Map<string, Set<string>>();

/** The folder names under `chunks/` and `recordings/` at `commit` (one non-recursive `ls-tree`). */
export async function folderNames(
  gitDir: string,
  commit: string,
  options: TreeReadOptions = {},
): Promise<Set<string>> {
  const key = `${gitDir}\0${commit}`;
  const cached = namesCache.get(key);
  if (cached) return cached;
  const args = ["ls-tree", "-z", "--name-only", commit, "--", "chunks/", "recordings/"];
  const result = await git(args, { gitDir, ...options, timeoutMs: 120_000 });
  if (!result.success) throw new GitError(args, result);
  const names = new Set<string>();
  for (const path of result.stdout.split("\0")) {
    const slash = path.indexOf("/");
    if (slash > 0 && path.length > slash + 1) names.add(path.slice(slash + 1));
  }
  // A commit's tree never changes: remember the last few.
  if (namesCache.size >= 8) namesCache.delete(namesCache.keys().next().value!);
  namesCache.set(key, names);
  return names;
}
