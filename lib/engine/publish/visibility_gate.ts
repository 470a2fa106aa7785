/**
 * The public-repository guard of the engine: lib/git/visibility.ts decides
 * from the cached route and answer (synchronously, in the tick: which
 * generations a remote may publish), and {@linkcode VisibilityGate.refresh}
 * learns where git really connects (lib/git/remote_route.ts: insteadOf
 * rewrites, ssh aliases) and asks the GitHub API when an answer is due —
 * only ever from the remote's queue, before a push, never in the tick. A
 * push rejection makes the answer stale. With `encryption.recipients` set,
 * waiting plaintext chunks are sealed before they are committed
 * (lib/engine/publish/publish.ts), so they count as encrypted here.
 *
 * @module
 */
import {
  decideVisibility,
  fetchVisibility,
  type GitHubRepo,
  type RemoteTarget,
  repoFullName,
  type Route,
  routeOf,
  UNKNOWN_RECHECK_MS,
  type Visibility,
  VISIBILITY_RECHECK_MS,
  type VisibilityAnswer,
  type VisibilityDecision,
} from "../../git/mod.ts";
import type { RecordingState } from "../../chunk/mod.ts";
import { type Clock, log, type Settings } from "../../sys/mod.ts";

/** Options for {@linkcode VisibilityGate}. */
export interface VisibilityGateOptions {
  /** Settings (`github_api`, `allow_public`). */
  settings: Settings;
  /** Clock (monotonic for the cache). */
  clock: Clock;
  /** The token for a remote (the API call); absent: anonymous. */
  tokenFor?: (url: string) => Promise<string | undefined>;
  /** `allow_public` of a generation's recording (its `.json`). */
  allowPublic: (state: RecordingState) => boolean;
  /** Shutdown. */
  signal?: AbortSignal;
  /** `fetch` (tests). */
  fetch?: typeof fetch;
  /** The daemon's git config (`GIT_CONFIG_GLOBAL`), whose url rewrites git applies. */
  globalConfig?: string;
  /** Where a remote leads (tests; default {@linkcode routeOf}). */
  route?: typeof routeOf;
}

/** What the guard needs of a payload: is it plaintext, may it go public. */
interface PayloadFacts {
  plaintext: boolean;
  allowPublic: boolean;
}

/** A route and when it was learnt (monotonic ms). */
interface KnownRoute {
  route: Route;
  at: number;
}

/** Visibility answers per GitHub repository, and the decisions they give. */
export class VisibilityGate {
  #o: VisibilityGateOptions;
  #routes = new Map<string, KnownRoute>();
  #answers = new Map<string, VisibilityAnswer>();
  #log = log("daemon");

  /** Creates the gate (no answer yet). */
  constructor(options: VisibilityGateOptions) {
    this.#o = options;
  }

  /** The GitHub repository of a remote, once its route is known; undefined otherwise. */
  repoOf(target: RemoteTarget): GitHubRepo | undefined {
    const known = this.#routes.get(target.url)?.route;
    return known?.kind === "github" ? known.repo : undefined;
  }

  #routeDue(target: RemoteTarget): boolean {
    const known = this.#routes.get(target.url);
    if (!known) return true;
    const age = this.#o.clock.now() - known.at;
    return age >= (known.route.kind === "unknown" ? UNKNOWN_RECHECK_MS : VISIBILITY_RECHECK_MS);
  }

  #plaintext(state: RecordingState): boolean {
    if ((this.#o.settings.encryption?.recipients?.length ?? 0) > 0) return false;
    return state.pending.some((chunk) => !chunk.encrypted);
  }

  #key(repo: GitHubRepo): string {
    return `${repo.api}\n${repoFullName(repo).toLowerCase()}`;
  }

  /** The cached answer for a remote, if any. */
  answer(target: RemoteTarget): VisibilityAnswer | undefined {
    const repo = this.repoOf(target);
    return repo ? this.#answers.get(this.#key(repo)) : undefined;
  }

  /** What is known of the remote's visibility (null: not a GitHub remote, or not asked yet). */
  visibility(target: RemoteTarget): Visibility | null {
    return this.answer(target)?.visibility ?? null;
  }

  /** The decision for one generation's waiting chunks, from the cached answer (no network). */
  decide(target: RemoteTarget, state: RecordingState): VisibilityDecision {
    return this.#decide(target, {
      plaintext: this.#plaintext(state),
      allowPublic: this.#o.allowPublic(state),
    });
  }

  #decide(target: RemoteTarget, facts: PayloadFacts): VisibilityDecision {
    const known = this.#routes.get(target.url)?.route;
    const due = this.#routeDue(target);
    return decideVisibility({
      repo: this.repoOf(target),
      answer: this.answer(target),
      now: this.#o.clock.now(),
      plaintext: facts.plaintext,
      allowPublic: this.#o.settings.allow_public || facts.allowPublic,
      routePending: due,
      ...(known?.kind === "unknown" && !due ? { routeUnknown: known.error } : {}),
    });
  }

  /**
   * Whether a plaintext payload derived from a recording (its text index) may
   * go to `target` now: asks what is due first (in the remote's queue).
   * Null when it may, else why not.
   */
  async admit(
    target: RemoteTarget,
    facts: { allowPublic: boolean },
    options: { gitDir?: string } = {},
  ): Promise<string | null> {
    const payload = { plaintext: true, allowPublic: facts.allowPublic };
    await this.#refresh(target, [payload], options);
    const decision = this.#decide(target, payload);
    if (decision.action === "allow") return null;
    return decision.action === "refuse"
      ? decision.message
      : "where the remote leads or whether it is public is not known yet";
  }

  /** Why a generation's chunks are held back for this remote, or null. */
  refusal(target: RemoteTarget, state: RecordingState): string | null {
    const decision = this.decide(target, state);
    return decision.action === "refuse" ? decision.message : null;
  }

  /**
   * Asks the GitHub API when any of `states` needs an answer (in the
   * remote's queue, before a push). Never throws: a failed request is an
   * `unknown` answer, which holds plaintext back and is asked again soon.
   */
  refresh(
    target: RemoteTarget,
    states: readonly RecordingState[],
    options: { gitDir?: string } = {},
  ): Promise<void> {
    const payloads = states.map((state) => ({
      plaintext: this.#plaintext(state),
      allowPublic: this.#o.allowPublic(state),
    }));
    return this.#refresh(target, payloads, options);
  }

  async #refresh(
    target: RemoteTarget,
    payloads: readonly PayloadFacts[],
    options: { gitDir?: string },
  ): Promise<void> {
    const due = () => payloads.some((facts) => this.#decide(target, facts).action === "check");
    if (!due()) return;
    if (this.#routeDue(target)) {
      const route = await (this.#o.route ?? routeOf)(target.url, {
        gitDir: options.gitDir,
        globalConfig: this.#o.globalConfig,
        githubApi: this.#o.settings.github_api,
        signal: this.#o.signal,
      });
      const before = this.#routes.get(target.url)?.route;
      this.#routes.set(target.url, { route, at: this.#o.clock.now() });
      if (route.kind === "unknown" && before?.kind !== "unknown") {
        this.#log.warn("Cannot tell where {url} leads ({error}): its plaintext chunks wait", {
          url: target.url,
          error: route.error,
        });
      }
    }
    const repo = this.repoOf(target);
    if (!repo || !due()) return;
    const token = await this.#o.tokenFor?.(target.url).catch(() => undefined);
    const result = await fetchVisibility(repo, {
      token,
      fetch: this.#o.fetch,
      signal: this.#o.signal,
      userAgent: "asciinema-chunker-daemon",
    });
    const previous = this.#answers.get(this.#key(repo))?.visibility;
    this.#answers.set(this.#key(repo), { ...result, at: this.#o.clock.now() });
    if (previous !== result.visibility) {
      this.#log.info("GitHub says {repo} is {visibility}{why}", {
        repo: repoFullName(repo),
        visibility: result.visibility,
        why: result.error ? ` (${result.error})` : "",
      });
    }
  }

  /** A push to the remote was rejected: ask again before the next one. */
  invalidate(target: RemoteTarget): void {
    const repo = this.repoOf(target);
    const answer = repo ? this.#answers.get(this.#key(repo)) : undefined;
    if (answer) answer.stale = true;
  }
}
