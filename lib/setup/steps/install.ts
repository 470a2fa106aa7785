/**
 * Step 7, install: credentials into the credential store, the orphan branch,
 * config.json (atomic, other keys kept), the service and its first healthy
 * heartbeat. The only step that writes anything.
 *
 * @module
 */
import {
  describeSecrets,
  envWarning,
  GITHUB_PAT,
  PUSHOVER_APP,
  PUSHOVER_USER,
} from "../../credentials/mod.ts";
import { AGE_IDENTITY } from "../../crypto/mod.ts";
import { displayUrl, parseRemoteUrl, tokenAllowedFor, tokenHostEntry } from "../../git/mod.ts";
import { ensurePrivateDir, SettingsError, updateSettings } from "../../sys/mod.ts";
import {
  EXIT_CANCELLED,
  EXIT_FAILED,
  isPromptCancel,
  SetupCancelled,
  SetupError,
} from "../answers.ts";
import { BranchSetupError, ensureBranch } from "../git_access.ts";
import { deleteCredentials, installService, statusText } from "../service.ts";
import { checkAborted, type SetupPlan, type SetupRun } from "../context.ts";

/** config.json's keys setup writes (the rest of the file is kept). */
function configPatch(run: SetupRun, plan: SetupPlan): Record<string, unknown> {
  const raw = run.config;
  const notify = { ...((raw.notify ?? {}) as Record<string, unknown>) };
  const pushover = { ...((notify.pushover ?? {}) as Record<string, unknown>) };
  pushover.enabled = plan.pushover;
  if (plan.pushoverApi) pushover.api_url = plan.pushoverApi;
  const ntfy = { ...((notify.ntfy ?? {}) as Record<string, unknown>) };
  if (plan.ntfyUrl === null) delete ntfy.url;
  else if (plan.ntfyUrl !== undefined) ntfy.url = plan.ntfyUrl;
  return {
    repo_url: plan.repoUrl,
    ...tokenHostsPatch(raw, plan),
    branch: plan.branch,
    idle_threshold: plan.idle,
    zstd_level: plan.zstd,
    notify: { ...notify, pushover, ntfy },
    // null turns encryption off (the key is dropped from the file); undefined keeps it.
    ...(plan.recipients === undefined
      ? {}
      : { encryption: plan.recipients === null ? undefined : { recipients: plan.recipients } }),
  };
}

/**
 * `github_token_hosts` with the chosen remote's host added when the token is
 * to go there (an HTTPS remote that is not github.com nor `github_api`'s
 * host): choosing it in setup for this token is the explicit consent.
 */
function tokenHostsPatch(raw: Record<string, unknown>, plan: SetupPlan): Record<string, unknown> {
  if (!plan.repoUrl) return {};
  let remote;
  try {
    remote = parseRemoteUrl(plan.repoUrl);
  } catch {
    return {};
  }
  const current = Array.isArray(raw.github_token_hosts)
    ? raw.github_token_hosts.filter((entry): entry is string => typeof entry === "string")
    : [];
  const githubApi = typeof raw.github_api === "string" ? raw.github_api : undefined;
  const entry = tokenHostEntry(remote);
  if (!entry || tokenAllowedFor(remote, { githubApi, tokenHosts: current })) return {};
  return { github_token_hosts: [...current, entry] };
}

/** Carries out the plan (the last step). */
export async function apply(run: SetupRun, plan: SetupPlan): Promise<number> {
  try {
    return await applyPlan(run, plan);
  } catch (error) {
    if (error instanceof SetupCancelled || isPromptCancel(error)) {
      throw new SetupError(
        "interrupted while installing: part of it may be done; run setup again to finish " +
          "(it is safe to repeat)",
        EXIT_CANCELLED,
      );
    }
    throw error;
  }
}

async function applyPlan(run: SetupRun, plan: SetupPlan): Promise<number> {
  const { ctx, store } = run;
  if (plan.fresh) {
    const deleted = await deleteCredentials(store, run.say);
    run.say(`Deleted ${deleted.length} stored credential(s) (fresh install).`);
  }
  if (plan.token && plan.storeToken) {
    await store.set(GITHUB_PAT, plan.token);
    run.say(`✔ Token stored in the ${store.kind} credential store (service ${GITHUB_PAT}).`);
  } else if (plan.token && store.kind === "env") {
    run.say(`! ${envWarning(GITHUB_PAT)}`);
  }
  if (plan.ageIdentity && !store.readOnly) {
    await store.set(AGE_IDENTITY, plan.ageIdentity);
    run.say(`✔ age key stored in the ${store.kind} credential store (service ${AGE_IDENTITY}).`);
  }
  if (plan.pushoverSecrets) {
    await store.set(PUSHOVER_APP, plan.pushoverSecrets.app);
    await store.set(PUSHOVER_USER, plan.pushoverSecrets.user);
    run.say(`✔ Pushover app token and user key stored in the ${store.kind} credential store.`);
  }
  checkAborted(ctx);
  try {
    const branch = await ensureBranch(plan.repoUrl, {
      token: plan.token,
      branch: plan.branch,
      signal: ctx.signal,
    });
    run.say(
      branch === "created"
        ? `✔ Created the orphan branch ${plan.branch} on ${displayUrl(plan.repoUrl)}.`
        : `✔ The branch ${plan.branch} exists on ${displayUrl(plan.repoUrl)}.`,
    );
  } catch (error) {
    if (error instanceof BranchSetupError) throw new SetupError(error.message);
    throw error;
  }
  await ensurePrivateDir(ctx.paths.home);
  try {
    await updateSettings(ctx.paths.config, configPatch(run, plan));
  } catch (error) {
    if (error instanceof SettingsError) {
      throw new SetupError(`config.json was not written: ${error.message}`);
    }
    throw error;
  }
  run.say(`✔ Wrote ${ctx.paths.config}.`);
  if (run.flags.service === false) {
    run.say("");
    run.say("No service installed (--no-service). Start the daemon with `deno task daemon-start`,");
    run.say("then record with `deno task bootstrap`.");
    return 0;
  }
  run.say("Installing and starting the service …");
  const installed = await installService({
    paths: ctx.paths,
    env: run.env,
    os: ctx.os,
    say: run.say,
    detach: run.flags.detach,
    compile: run.flags.compile,
    showDefinition: run.showDefinition,
    secrets: () => describeSecrets(store),
  });
  if (installed.start.status === "failed") {
    for (const line of statusText(installed.report).split("\n")) run.say(line);
    throw new SetupError(
      `the service did not start: ${installed.start.message ?? "unknown error"}`,
    );
  }
  run.say("");
  for (const line of statusText(installed.report).trimEnd().split("\n")) run.say(line);
  if (!installed.healthy) {
    run.say("");
    run.say("! The daemon did not report a healthy heartbeat within 15 s; see the status above.");
    return EXIT_FAILED;
  }
  run.say("");
  run.say("Done. Record with `deno task bootstrap`; check with `deno task daemon-status`.");
  return 0;
}
