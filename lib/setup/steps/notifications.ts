/**
 * Step 5, notifications: Pushover or ntfy (or none), confirmed with a test
 * notice through the daemon's own notifier.
 *
 * @module
 */
import { hostname } from "node:os";
import { PUSHOVER_APP, PUSHOVER_USER } from "../../credentials/mod.ts";
import { createNotifier, type Notice } from "../../notify/mod.ts";
import { registerSecret } from "../../sys/mod.ts";
import { checkNtfyUrl, requireValid } from "../answers.ts";
import { type Draft, type SetupRun, storedSecret } from "../context.ts";
import type { Choice, Prompter } from "../prompter.ts";

/** The notification choices. */
export interface NotifyAnswer {
  pushover: boolean;
  pushoverSecrets?: { app: string; user: string };
  ntfyUrl?: string | null;
}

/** Asks for the notification backends, each confirmed with a test notice. */
async function askNotifications(
  run: SetupRun,
  prompter: Prompter,
  fresh: boolean,
): Promise<NotifyAnswer> {
  const { flags } = run;
  const storedApp = fresh
    ? undefined
    : await storedSecret(run, PUSHOVER_APP).catch(() => undefined);
  const storedUser = fresh
    ? undefined
    : await storedSecret(run, PUSHOVER_USER).catch(() => undefined);
  const notify = (run.config.notify ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const currentNtfy = typeof notify.ntfy?.url === "string" ? notify.ntfy.url : undefined;
  if (flags.ntfy !== undefined || flags.pushover === false) {
    if (flags.ntfy !== undefined) requireValid("--ntfy", checkNtfyUrl(flags.ntfy));
    const answer: NotifyAnswer = { pushover: flags.pushover !== false, ntfyUrl: flags.ntfy };
    await sendTestNotice(run, answer);
    return answer;
  }
  const choices: Choice<string>[] = [];
  if (storedApp && storedUser) {
    choices.push({
      name: "Keep Pushover as set up (app token and user key stored)",
      value: "keep-pushover",
    });
  }
  if (currentNtfy) choices.push({ name: `Keep ntfy: ${currentNtfy}`, value: "keep-ntfy" });
  choices.push(
    { name: "Pushover (app token and user key)", value: "pushover" },
    { name: "ntfy (a topic URL)", value: "ntfy" },
    { name: "No notifications", value: "none" },
  );
  while (true) {
    const picked = await prompter.select(
      "Notify you when backups fail? (optional)",
      choices,
    );
    let answer: NotifyAnswer;
    if (picked === "keep-pushover") answer = { pushover: true };
    else if (picked === "keep-ntfy") answer = { pushover: false, ntfyUrl: currentNtfy };
    else if (picked === "none") return { pushover: false, ntfyUrl: null };
    else if (picked === "pushover") {
      run.say("Pushover: create an application at https://pushover.net/apps/build;");
      run.say("your user key is on https://pushover.net after you log in.");
      const app = (await prompter.secret("Pushover app token (masked):", {
        validate: (value) => value.trim() !== "" || "paste the app token",
      })).trim();
      registerSecret(app);
      const user = (await prompter.secret("Pushover user key (masked):", {
        validate: (value) => value.trim() !== "" || "paste the user key",
      })).trim();
      registerSecret(user);
      answer = { pushover: true, pushoverSecrets: { app, user }, ntfyUrl: null };
    } else {
      const url = await prompter.input(
        "ntfy topic URL (https://ntfy.sh/<a hard-to-guess topic>):",
        {
          default: currentNtfy,
          validate: checkNtfyUrl,
        },
      );
      answer = { pushover: false, ntfyUrl: url.trim() };
    }
    const confirmed = await confirmNotice(run, prompter, answer);
    if (confirmed) return confirmed;
  }
}

/** Sends the test notice; returns the answer, or undefined when the person wants to change it. */
async function confirmNotice(
  run: SetupRun,
  prompter: Prompter | undefined,
  answer: NotifyAnswer,
): Promise<NotifyAnswer | undefined> {
  const delivered = await sendTestNotice(run, answer);
  if (delivered !== false || !prompter) return answer;
  const next = await prompter.select("The test notice did not arrive. What now?", [
    { name: "Enter the notification settings again", value: "again" },
    { name: "Keep these settings anyway", value: "keep" },
    { name: "No notifications", value: "none" },
  ]);
  if (next === "keep") return answer;
  if (next === "none") return { pushover: false, ntfyUrl: null };
  return undefined;
}

/** Sends a test notice through the chosen backends; undefined when none is set up. */
async function sendTestNotice(
  run: SetupRun,
  answer: NotifyAnswer,
): Promise<boolean | undefined> {
  const notify = (run.config.notify ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const ntfyUrl = answer.ntfyUrl === undefined
    ? (typeof notify.ntfy?.url === "string" ? notify.ntfy.url : undefined)
    : answer.ntfyUrl ?? undefined;
  const pushoverApi = run.flags.pushoverApi ??
    (typeof notify.pushover?.api_url === "string" ? notify.pushover.api_url : undefined);
  const settings = {
    notify: {
      enabled: true,
      failure_grace_seconds: 120,
      throttle_minutes: 30,
      pushover: { enabled: answer.pushover, ...(pushoverApi ? { api_url: pushoverApi } : {}) },
      ntfy: ntfyUrl ? { url: ntfyUrl } : {},
    },
  };
  const fresh: Record<string, string> = {};
  if (answer.pushoverSecrets) {
    fresh[PUSHOVER_APP] = answer.pushoverSecrets.app;
    fresh[PUSHOVER_USER] = answer.pushoverSecrets.user;
  }
  const notifier = createNotifier(settings as never, {
    getSecret: async (service) =>
      fresh[service] ?? await run.store.get(service).catch(() => undefined),
    fetch: run.ctx.fetch,
  });
  const notice: Notice = {
    kind: "recovered",
    key: "setup",
    title: "asciinema-chunker: test notice",
    message: `Setup on ${hostname()} sent this test. If backing up your recordings fails, ` +
      `you will be told like this.`,
    priority: "low",
    tags: ["white_check_mark"],
  };
  const result = await notifier.send(notice);
  const attempted = result.results.filter((entry) => !entry.skipped);
  if (attempted.length === 0) {
    run.say(
      "No notification service is set up: failures show only in `daemon.ts status` and the log.",
    );
    return undefined;
  }
  for (const entry of attempted) {
    run.say(
      entry.ok
        ? `✔ Test notice sent via ${entry.backend}.`
        : `✘ Test notice via ${entry.backend} failed: ${entry.error ?? "unknown error"}`,
    );
  }
  return result.delivered;
}

/** Step 5: unattended, sends the test notice; interactive, asks first. */
export async function notificationsStep(run: SetupRun, draft: Draft): Promise<void> {
  if (!run.prompter) {
    await sendTestNotice(run, {
      pushover: draft.pushover!,
      pushoverSecrets: draft.pushoverSecrets,
      ntfyUrl: draft.ntfyUrl,
    });
    return;
  }
  const notify = await askNotifications(run, run.prompter, draft.fresh);
  draft.pushover = notify.pushover;
  draft.pushoverSecrets = notify.pushoverSecrets;
  draft.pushoverApi = run.flags.pushoverApi;
  draft.ntfyUrl = notify.ntfyUrl;
}
