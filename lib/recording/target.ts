/**
 * Which remote a recording goes to. {@linkcode remoteOf} is the one rule for
 * a recording that exists (its `.json` or checkpoint, else config.json, else
 * the embedded `backup.git`; an empty value counts as none), used by the
 * daemon and by `restore`, `list` and `verify`. {@linkcode resolveTarget} is
 * bootstrap's choice for a new recording (`--repo`, `REPO_URL`, config.json,
 * the git `origin` of the directory), written into its `.json`.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { displayUrl, git, parseRemoteUrl } from "../git/mod.ts";
import { branchNameProblem, DEFAULT_BRANCH, errorMessage, readRawSettings } from "../sys/mod.ts";

/** A remote and a branch. */
export interface RemoteChoice {
  /** Remote URL or path. */
  url: string;
  /** Branch name. */
  branch: string;
}

/**
 * The remote and branch of a recording: what it recorded (`repo_url` and
 * `branch` of its `.json`, or a checkpoint's pinned remote), else config.json's
 * (`repo_url`, `branch`), else the embedded `backup.git` and
 * `asciinema-recordings`. Empty and null values count as none, field by field.
 */
export function remoteOf(
  recorded: { url?: string | null; branch?: string | null } | undefined,
  defaults: { repoUrl?: string | null; branch?: string | null; backupGit: string },
): RemoteChoice {
  return {
    url: recorded?.url || defaults.repoUrl || defaults.backupGit,
    branch: recorded?.branch || defaults.branch || DEFAULT_BRANCH,
  };
}

/** Where the recording's chunks go, and where each choice came from. */
export interface Target {
  /** Remote URL or path; undefined: the daemon's default (config.json or backup.git). */
  repoUrl?: string;
  /** Which source gave `repoUrl`. */
  repoSource: "--repo" | "REPO_URL" | "config.json" | "origin" | "default";
  /** Branch. */
  branch: string;
  /** Which source gave `branch`. */
  branchSource: "--branch" | "BRANCH" | "config.json" | "default";
}

/** Options for {@linkcode resolveTarget}. */
export interface ResolveTargetOptions {
  /** Environment (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /** Directory whose git `origin` is the last resort. */
  cwd: string;
  /** config.json path. */
  configPath: string;
}

/** The raw `remote.origin.url` of the repository containing `cwd`, if any. */
export async function originUrl(cwd: string): Promise<string | undefined> {
  try {
    const result = await git(["config", "--get", "remote.origin.url"], {
      cwd,
      timeoutMs: 10_000,
    });
    const url = result.success ? result.stdout.trim() : "";
    return url || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decides repo and branch: repo from `--repo`, `REPO_URL`, config.json's
 * `repo_url`, or the `origin` of the repository around `cwd` (GitHub SSH
 * forms become HTTPS), else none (the daemon's embedded default); branch
 * from `--branch`, `BRANCH`, config.json's `branch`, or
 * `asciinema-recordings`. Returns warnings for things it skipped.
 */
export async function resolveTarget(
  options: { repo?: string; branch?: string },
  context: ResolveTargetOptions,
): Promise<{ target: Target; warnings: string[] }> {
  const env = context.env ?? Deno.env;
  const warnings: string[] = [];
  let config: Record<string, unknown> = {};
  try {
    config = await readRawSettings(context.configPath);
  } catch (error) {
    warnings.push(
      `${context.configPath} is unreadable (${
        errorMessage(error)
      }); ignoring its repo_url and branch`,
    );
  }
  const configString = (key: string) => {
    const value = config[key];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string") return value;
    warnings.push(`config.json: ${key} is ${JSON.stringify(value)}, not a string; ignoring it`);
    return undefined;
  };

  let repoUrl: string | undefined;
  let repoSource: Target["repoSource"] = "default";
  const repoEnv = env.get("REPO_URL");
  const repoConfig = configString("repo_url");
  if (options.repo) {
    repoUrl = options.repo;
    repoSource = "--repo";
  } else if (repoEnv) {
    repoUrl = repoEnv;
    repoSource = "REPO_URL";
  } else if (repoConfig) {
    repoUrl = repoConfig;
    repoSource = "config.json";
  } else {
    const origin = await originUrl(context.cwd);
    if (origin) {
      repoUrl = origin;
      repoSource = "origin";
    }
  }

  if (repoUrl !== undefined) {
    const given = repoUrl;
    try {
      const parsed = parseRemoteUrl(given);
      if (parsed.hadUserinfo) {
        warnings.push(
          `the ${repoSource} URL carried credentials; they were removed (the daemon pushes with its own token)`,
        );
      }
      repoUrl = parsed.url;
      if (parsed.kind === "local" && !/^file:/i.test(repoUrl) && !isAbsolute(repoUrl)) {
        repoUrl = resolve(context.cwd, repoUrl);
      }
    } catch (error) {
      const reason = errorMessage(error);
      if (repoSource !== "origin") throw new Error(`${repoSource}: ${reason}`);
      warnings.push(
        `the git origin ${
          displayUrl(given)
        } cannot be used (${reason}); using the daemon's default remote`,
      );
      repoUrl = undefined;
      repoSource = "default";
    }
  }

  let branch = DEFAULT_BRANCH;
  let branchSource: Target["branchSource"] = "default";
  const branchEnv = env.get("BRANCH");
  const branchConfig = configString("branch");
  if (options.branch) {
    branch = options.branch;
    branchSource = "--branch";
  } else if (branchEnv) {
    branch = branchEnv;
    branchSource = "BRANCH";
  } else if (branchConfig) {
    branch = branchConfig;
    branchSource = "config.json";
  }
  const problem = branchNameProblem(branch);
  if (problem) throw new Error(`branch from ${branchSource}: ${problem}`);
  return { target: { repoUrl, repoSource, branch, branchSource }, warnings };
}
