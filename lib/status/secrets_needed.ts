/**
 * Which secrets the current configuration needs, so `status` talks only
 * about those: the embedded default (a bare repository in the home, no
 * notifier set up) needs none, and a keyring that cannot be asked is then no
 * reason for four `unknown` rows. Pure: settings, config.json as written,
 * the remotes in use and the environment in, service names out.
 *
 * - the GitHub token: when a remote in use (config.json's `repo_url`, or one
 *   the daemon pushes to per health.json) needs one (`needsToken` decides;
 *   a remote it cannot judge needs one: unknown is never "none");
 * - the Pushover keys: when Pushover is on and was set up (config.json turns
 *   it on explicitly, as setup does) or a key is in the environment;
 * - the ntfy access token: when an ntfy topic is configured.
 *
 * @module
 */
import { GITHUB_PAT, NTFY_TOKEN, PUSHOVER_APP, PUSHOVER_USER } from "../credentials/mod.ts";
import type { NotifySettings } from "../sys/mod.ts";

/** What {@linkcode secretsNeeded} decides on. */
export interface SecretNeedsInput {
  /** The parsed `notify` settings (defaults filled in). */
  notify: NotifySettings;
  /** config.json as written (no defaults): what setup turned on explicitly. */
  raw: Record<string, unknown>;
  /** URLs of the remotes in use. */
  remotes: string[];
  /** True when pushing to `url` needs a token. */
  needsToken: (url: string) => boolean;
  /** Environment (a secret kept there counts as set up). */
  env: { get(key: string): string | undefined };
}

function explicitPushover(raw: Record<string, unknown>): boolean {
  const notify = raw.notify;
  if (!notify || typeof notify !== "object") return false;
  const pushover = (notify as Record<string, unknown>).pushover;
  return Boolean(pushover) && typeof pushover === "object" &&
    (pushover as Record<string, unknown>).enabled === true;
}

/** The services (credential-store names) the configuration needs. */
export function secretsNeeded(input: SecretNeedsInput): Set<string> {
  const needed = new Set<string>();
  const judged = (url: string) => {
    try {
      return input.needsToken(url);
    } catch {
      return true;
    }
  };
  if (input.remotes.some(judged)) needed.add(GITHUB_PAT);
  const { notify } = input;
  const keyInEnv = Boolean(
    input.env.get("ASCIINEMA_PUSHOVER_APP") || input.env.get("ASCIINEMA_PUSHOVER_USER"),
  );
  if (notify.enabled && notify.pushover.enabled && (explicitPushover(input.raw) || keyInEnv)) {
    needed.add(PUSHOVER_APP);
    needed.add(PUSHOVER_USER);
  }
  if (notify.enabled && notify.ntfy.url) needed.add(NTFY_TOKEN);
  return needed;
}
