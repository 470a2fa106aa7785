/**
 * Which remotes `search` and `reindex` read: `--repo` (and `--branch`), else
 * every remote the daemon knows (lib/branch/remote_lookup.ts knownRemotes),
 * leaving out the embedded `backup.git` while it does not exist and other
 * remotes are known — as `list` does.
 *
 * @module
 */
import { readableRemotes, type RemoteLookupOptions } from "../branch/mod.ts";

/** A remote to read; the branch is resolved later when not given. */
export interface SearchedRemote {
  /** URL or path (undefined: the default, resolved by the branch source). */
  url?: string;
  /** Branch (undefined: resolved by the branch source). */
  branch?: string;
}

/** The remotes to read for `options`. */
export async function searchedRemotes(options: RemoteLookupOptions): Promise<SearchedRemote[]> {
  if (options.repoUrl || options.branch) return [{ url: options.repoUrl, branch: options.branch }];
  const remotes = await readableRemotes(options.paths, { cwd: options.cwd });
  return remotes.map((remote) => ({ url: remote.url, branch: remote.branch }));
}
