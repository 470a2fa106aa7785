/**
 * Step 4, the token: the stored one is checked and offered, else a new one is
 * asked for (masked) and checked with the GitHub API and a dry-run push.
 *
 * @module
 */
import { displayUrl, parseRemoteUrl, repoNameOf } from "../../git/mod.ts";
import { GITHUB_PAT } from "../../credentials/mod.ts";
import { errorMessage, registerSecret } from "../../sys/mod.ts";
import { SetupCancelled, SetupError } from "../answers.ts";
import { checkGitHubToken, tokenCreationUrl, webHostOf } from "../github.ts";
import { checkPushAccess } from "../git_access.ts";
import {
  apiApplies,
  checkAborted,
  type Draft,
  needsToken,
  type SetupRun,
  storedSecret,
} from "../context.ts";
import type { Prompter } from "../prompter.ts";

/** What the GitHub API said of a repository's visibility. */
type Visibility = "public" | "private" | "unknown";

/** The outcome of checking a token against the repository. */
export type TokenVerdict =
  | { ok: true; login?: string; branchExists: boolean; visibility?: Visibility }
  | { ok: false; kind: string; message: string };

/** Checks a token (or git alone) against the repository and branch. */
export async function verifyToken(run: SetupRun, url: string, branch: string, token?: string) {
  const { ctx } = run;
  let login: string | undefined;
  let visibility: Visibility | undefined;
  if (token && apiApplies(run, url)) {
    const checked = await checkGitHubToken(token, {
      api: run.api,
      repo: repoNameOf(url)!,
      fetch: ctx.fetch,
      signal: ctx.signal,
    });
    checkAborted(ctx);
    if (!checked.ok) return { ok: false, kind: checked.kind, message: checked.message } as const;
    login = checked.login;
    visibility = checked.visibility;
  } else if (token && parseRemoteUrl(url).needsToken && !parseRemoteUrl(url).github) {
    run.say(
      `  (not github.com: the GitHub API check is skipped; pass --github-api ` +
        `https://HOST/api/v3 for GitHub Enterprise)`,
    );
  }
  const push = await checkPushAccess(url, { token, branch, signal: ctx.signal });
  checkAborted(ctx);
  if (!push.ok) return { ok: false, kind: push.kind, message: push.message } as const;
  return { ok: true, login, branchExists: push.branchExists, visibility } as const;
}

/** The line that tells what a successful check found. */
export function describeVerdict(url: string, branch: string, verdict: TokenVerdict & { ok: true }) {
  const who = verdict.login ? `the token of ${verdict.login}` : "git";
  const seen = verdict.visibility === "public"
    ? "; the repository is PUBLIC"
    : verdict.visibility === "private"
    ? "; the repository is private"
    : "";
  return `✔ ${who} can push to ${displayUrl(url)} (branch ${branch} ${
    verdict.branchExists ? "exists" : "will be created"
  }${seen})`;
}

function explainToken(run: SetupRun, url: string): void {
  const name = repoNameOf(url);
  const host = parseRemoteUrl(url).github ? "github.com" : webHostOf(run.api);
  run.say("The daemon pushes with its own token, kept in your keyring (never in a file).");
  run.say("Create a fine-grained personal access token:");
  run.say(`  ${tokenCreationUrl(host)}`);
  run.say(
    `  Repository access: Only select repositories → ${
      name ? `${name.owner}/${name.repo}` : "this repository"
    }`,
  );
  run.say("  Repository permissions: Contents → Read and write; Metadata → Read-only");
}

type TokenAnswer =
  | {
    next: "ok";
    token?: string;
    storeToken: boolean;
    login?: string;
    branchExists: boolean;
    visibility?: Visibility;
  }
  | { next: "change-repo" };

/** Asks for the token (keeping a stored one that works, when wanted) and checks it. */
export async function askToken(
  run: SetupRun,
  target: { prompter: Prompter; url: string; branch: string; fresh: boolean },
): Promise<TokenAnswer> {
  const { prompter, url, branch, fresh } = target;
  if (!needsToken(url)) {
    run.say(`${displayUrl(url)} needs no token; checking that git can push to it …`);
    const verdict = await verifyToken(run, url, branch);
    if (!verdict.ok) throw new SetupError(verdict.message);
    run.say(describeVerdict(url, branch, verdict));
    return { next: "ok", storeToken: false, branchExists: verdict.branchExists };
  }
  if (!fresh) {
    const stored = await storedSecret(run, GITHUB_PAT).catch((error) => {
      run.say(`! ${errorMessage(error)}`);
      return undefined;
    });
    if (stored) {
      run.say("Checking the stored token …");
      const verdict = await verifyToken(run, url, branch, stored);
      if (verdict.ok) {
        run.say(describeVerdict(url, branch, verdict));
        if (await prompter.confirm("Keep using the stored token?", true)) {
          return {
            next: "ok",
            token: stored,
            storeToken: false,
            login: verdict.login,
            branchExists: verdict.branchExists,
            visibility: verdict.visibility,
          };
        }
      } else {
        run.say(`✘ The stored token does not work: ${verdict.message}`);
      }
    }
  }
  if (run.store.readOnly) {
    run.say(
      `! The credential store is ${run.store.kind} (read-only): the token is checked but not ` +
        `stored; the daemon needs ASCIINEMA_GITHUB_PAT in its environment.`,
    );
  }
  explainToken(run, url);
  while (true) {
    const token = (await prompter.secret("GitHub token (input is masked):", {
      validate: (value) => value.trim() !== "" || "paste the token (Ctrl-C cancels setup)",
    })).trim();
    registerSecret(token);
    run.say("Checking the token with GitHub and a test push (dry run) …");
    const verdict = await verifyToken(run, url, branch, token);
    if (verdict.ok) {
      run.say(describeVerdict(url, branch, verdict));
      return {
        next: "ok",
        token,
        storeToken: !run.store.readOnly,
        login: verdict.login,
        branchExists: verdict.branchExists,
        visibility: verdict.visibility,
      };
    }
    run.say(
      `✘ ${
        verdict.kind === "read-only" ? "This token cannot push" : "Token not usable"
      }: ${verdict.message}`,
    );
    const next = await prompter.select("What now?", [
      { name: "Enter another token", value: "retry" },
      { name: "Choose another repository", value: "change-repo" },
      { name: "Cancel setup (nothing is changed)", value: "cancel" },
    ]);
    if (next === "cancel") throw new SetupCancelled();
    if (next === "change-repo") return { next: "change-repo" };
  }
}

/** Step 4: unattended, checks the planned token; interactive, asks (or goes back to step 3). */
export async function tokenStep(run: SetupRun, draft: Draft): Promise<"repository" | void> {
  if (!run.prompter) {
    run.say(
      draft.token
        ? "Checking the token with GitHub and a test push (dry run) …"
        : "Checking that git can push …",
    );
    const verdict = await verifyToken(run, draft.repoUrl!, draft.branch!, draft.token);
    if (!verdict.ok) {
      run.say(`✘ ${verdict.kind === "read-only" ? "This token cannot push" : "Token not usable"}`);
      throw new SetupError(verdict.message);
    }
    run.say(describeVerdict(draft.repoUrl!, draft.branch!, verdict));
    draft.login = verdict.login;
    draft.branchExists = verdict.branchExists;
    draft.visibility = verdict.visibility;
    return;
  }
  const answer = await askToken(run, {
    prompter: run.prompter,
    url: draft.repoUrl!,
    branch: draft.branch!,
    fresh: draft.fresh,
  });
  if (answer.next === "change-repo") return "repository";
  draft.token = answer.token;
  draft.storeToken = answer.storeToken;
  draft.login = answer.login;
  draft.branchExists = answer.branchExists;
  draft.visibility = answer.visibility;
}
