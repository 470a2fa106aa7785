/**
 * The one check of the names the daemon gives git from outside (config.json,
 * a recording's `.json`, flags, environment): branch names by git's
 * `check-ref-format` rules, and remotes that git would read as an option.
 * Setup, bootstrap, the settings schema and the daemon all ask here.
 *
 * @module
 */

/** Why `name` is not a branch git accepts (`refs/heads/<name>`), or undefined when it is fine. */
export function branchNameProblem(name: string): string | undefined {
  const shown = JSON.stringify(name);
  if (!name) return "a branch name cannot be empty";
  if (name.length > 255) return `${shown.slice(0, 40)}…: a branch name is at most 255 characters`;
  // deno-lint-ignore no-control-regex -- controls are what is refused
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) {
    return `${shown} is not a valid git branch name (no spaces, control characters or ~^:?*[\\)`;
  }
  if (name.startsWith("-")) {
    return `${shown} cannot start with "-" (git would read it as an option)`;
  }
  if (
    name.startsWith("/") || name.endsWith("/") || name.endsWith(".") || name.includes("..") ||
    name.includes("//") || name.includes("@{") || name === "@" ||
    name.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock"))
  ) {
    return `${shown} is not a valid git branch name (see \`git check-ref-format --branch\`)`;
  }
  return undefined;
}

/** Why `url` cannot be a remote git is given, or undefined (the full check is lib/git's). */
export function remoteNameProblem(url: string): string | undefined {
  const trimmed = url.trim();
  if (!trimmed) return "a remote cannot be empty";
  if (trimmed.startsWith("-")) {
    return `a remote cannot start with "-" (git would read it as an option)`;
  }
  // deno-lint-ignore no-control-regex -- controls are what is refused
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return "a remote cannot contain control characters";
  return undefined;
}
