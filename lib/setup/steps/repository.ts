/**
 * Step 3, the repository and branch: `--repo`, the configured one, this
 * directory's `origin`, a dedicated `<owner>/asciinema-recordings`, or any URL.
 *
 * @module
 */
import { displayUrl, git } from "../../git/mod.ts";
import { DEFAULT_BRANCH } from "../../sys/mod.ts";
import { checkBranch, checkRepoUrl, requireValid } from "../answers.ts";
import { webHostOf } from "../github.ts";
import { configString, type Draft, normalizeRepo, type SetupRun } from "../context.ts";
import type { Choice, Prompter } from "../prompter.ts";

/** Asks where recordings go (or takes `--repo`). */
async function askRepository(run: SetupRun, prompter: Prompter): Promise<string> {
  const { flags, config, ctx } = run;
  if (flags.repo) {
    requireValid("--repo", checkRepoUrl(flags.repo));
    run.say(`Repository: ${displayUrl(normalizeRepo(flags.repo))} (from --repo)`);
    return normalizeRepo(flags.repo);
  }
  const choices: Choice<string>[] = [];
  const configured = configString(config, "repo_url");
  if (configured && checkRepoUrl(configured) === true) {
    choices.push({
      name: `Keep the configured repository: ${displayUrl(configured)}`,
      value: normalizeRepo(configured),
    });
  }
  const origin = await originOf(ctx.cwd);
  if (origin && checkRepoUrl(origin) === true && normalizeRepo(origin) !== choices[0]?.value) {
    choices.push({
      name: `This directory's origin: ${displayUrl(normalizeRepo(origin))}`,
      value: normalizeRepo(origin),
      description: "recordings go to a separate orphan branch of this repository",
    });
  }
  choices.push({
    name: "A dedicated private repository: <owner>/asciinema-recordings",
    value: "\0dedicated",
    description: "create it on GitHub first (private, can be empty)",
  });
  choices.push({ name: "Another repository URL", value: "\0other" });
  const picked = await prompter.select("Where should recordings be backed up?", choices);
  if (picked === "\0dedicated") {
    const owner = await prompter.input("GitHub owner (your user name or an organisation):", {
      validate: (value) =>
        /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(value.trim()) || "not a GitHub owner name",
    });
    return `https://${webHostOf(run.api)}/${owner.trim()}/asciinema-recordings.git`;
  }
  if (picked === "\0other") {
    const url = await prompter.input("Repository URL (https://…, git@github.com:…):", {
      validate: checkRepoUrl,
    });
    return normalizeRepo(url.trim());
  }
  return picked;
}

async function originOf(cwd: string): Promise<string | undefined> {
  const result = await git(["config", "--get", "remote.origin.url"], { cwd, timeoutMs: 10_000 })
    .catch(() => undefined);
  const url = result?.success ? result.stdout.trim() : "";
  return url || undefined;
}

/** Asks for the branch (or takes `--branch`). */
async function askBranch(run: SetupRun, prompter: Prompter): Promise<string> {
  if (run.flags.branch) {
    requireValid("--branch", checkBranch(run.flags.branch));
    return run.flags.branch;
  }
  const current = configString(run.config, "branch") ?? DEFAULT_BRANCH;
  const branch = await prompter.input("Branch for the recordings (an orphan branch):", {
    default: current,
    validate: checkBranch,
  });
  return branch.trim();
}

/** Step 3: unattended, tells the planned repository; interactive, asks for it and the branch. */
export async function repositoryStep(run: SetupRun, draft: Draft): Promise<void> {
  if (!run.prompter) {
    run.say(`Repository: ${displayUrl(draft.repoUrl!)}, branch ${draft.branch}`);
    return;
  }
  draft.repoUrl = await askRepository(run, run.prompter);
  draft.branch = await askBranch(run, run.prompter);
}
