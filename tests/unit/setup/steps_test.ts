/**
 * The wizard's steps driven through a fake prompter: what each step asks,
 * what it puts into the draft, and how the wizard walks the list (back to the
 * repository from the token step).
 *
 * @module
 */
import assert from "node:assert/strict";
import { EnvStore } from "../../../lib/credentials/mod.ts";
import { homePaths } from "../../../lib/sys/mod.ts";
import { SetupCancelled, type SetupFlags } from "../../../lib/setup/mod.ts";
import type { Draft, SetupRun } from "../../../lib/setup/mod.ts";
import type { Choice, Prompter } from "../../../lib/setup/mod.ts";
import {
  chunkingStep,
  notificationsStep,
  repositoryStep,
  reviewStep,
} from "../../../lib/setup/steps/mod.ts";
import { runSteps, type SetupStep } from "../../../lib/setup/mod.ts";

/** One scripted answer: matched against the prompt's message. */
type Answer = { match: RegExp; value: unknown };

/** A prompter that answers from a script, in order, and records every question. */
function fakePrompter(script: Answer[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string, offered?: unknown[]) => {
    asked.push(message);
    const answer = script.shift();
    if (!answer) throw new Error(`unexpected prompt: ${message}`);
    assert.match(message, answer.match);
    if (offered) assert.ok(offered.includes(answer.value), `${answer.value} not offered`);
    return answer.value;
  };
  return {
    asked,
    select: <T>(message: string, choices: Choice<T>[]) =>
      Promise.resolve(next(message, choices.map((choice) => choice.value)) as T),
    input: (message) => Promise.resolve(next(message) as string),
    secret: (message) => Promise.resolve(next(message) as string),
    confirm: (message) => Promise.resolve(next(message) as boolean),
  };
}

/** The homes {@linkcode fakeRun} made, removed when this file's tests are done. */
const homes: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const home of homes) Deno.removeSync(home, { recursive: true });
});

function fakeRun(prompter: Prompter | undefined, flags: SetupFlags = {}): SetupRun & {
  lines: string[];
} {
  const lines: string[] = [];
  const home = Deno.makeTempDirSync({ prefix: "steps-" });
  homes.push(home);
  return {
    lines,
    flags,
    ctx: {
      paths: homePaths(home),
      cwd: home,
      io: { say: () => {}, stdinIsTerminal: true, readStdin: () => Promise.resolve("") },
    },
    env: { get: () => undefined },
    say: (line) => lines.push(line),
    prompter,
    store: new EnvStore({ source: { get: () => undefined } }),
    config: {},
    api: "https://api.github.com",
    apiExplicit: false,
    showDefinition: false,
  };
}

Deno.test("repository step: a dedicated repository is built from the owner; the branch defaults", async () => {
  const prompter = fakePrompter([
    { match: /Where should recordings be backed up/, value: "\0dedicated" },
    { match: /GitHub owner/, value: " alice " },
    { match: /Branch for the recordings/, value: "asciinema-recordings " },
  ]);
  const draft: Draft = { fresh: false };
  await repositoryStep(fakeRun(prompter), draft);
  assert.equal(draft.repoUrl, "https://github.com/alice/asciinema-recordings.git");
  assert.equal(draft.branch, "asciinema-recordings");
  assert.equal(prompter.asked.length, 3);
});

Deno.test("repository step: --repo and --branch are taken without a question", async () => {
  const prompter = fakePrompter([]);
  const draft: Draft = { fresh: false };
  const run = fakeRun(prompter, { repo: "git@github.com:bob/rec.git", branch: "rec" });
  await repositoryStep(run, draft);
  assert.equal(draft.repoUrl, "https://github.com/bob/rec.git");
  assert.equal(draft.branch, "rec");
  assert.deepEqual(prompter.asked, []);
});

Deno.test("chunking step: a preset, and custom values asked one by one", async () => {
  const preset: Draft = { fresh: false };
  await chunkingStep(
    fakeRun(fakePrompter([{ match: /How should recordings be chunked/, value: "default" }])),
    preset,
  );
  assert.deepEqual([preset.idle, preset.zstd], [30, 3]);
  const custom: Draft = { fresh: false };
  await chunkingStep(
    fakeRun(fakePrompter([
      { match: /How should recordings be chunked/, value: "custom" },
      { match: /Seconds without output/, value: "45" },
      { match: /zstd level/, value: "7" },
    ])),
    custom,
  );
  assert.deepEqual([custom.idle, custom.zstd], [45, 7]);
});

Deno.test("chunking step: unattended, it only tells the planned values", async () => {
  const run = fakeRun(undefined);
  await chunkingStep(run, { fresh: false, idle: 12, zstd: 5 });
  assert.deepEqual(run.lines, ["Idle threshold 12 s, zstd level 5."]);
});

Deno.test("notifications step: 'No notifications' clears ntfy and turns Pushover off", async () => {
  const draft: Draft = { fresh: false };
  await notificationsStep(
    fakeRun(fakePrompter([{ match: /Notify you when backups fail/, value: "none" }])),
    draft,
  );
  assert.equal(draft.pushover, false);
  assert.equal(draft.ntfyUrl, null);
});

Deno.test("review step: the summary is shown, and 'no' cancels before anything is written", async () => {
  const prompter = fakePrompter([
    { match: /Show the service definition/, value: false },
    { match: /Apply these settings/, value: false },
  ]);
  const run = fakeRun(prompter);
  const plan = {
    fresh: false,
    repoUrl: "https://github.com/alice/rec.git",
    branch: "rec",
    storeToken: false,
    pushover: false,
    idle: 30,
    zstd: 3,
  };
  await assert.rejects(reviewStep(run, plan), SetupCancelled);
  assert.ok(run.lines.some((line) => line.includes("github.com/alice/rec")), run.lines.join("\n"));
  assert.ok(run.lines.some((line) => line.includes("30 s idle, zstd level 3")));
});

Deno.test("the wizard walks its steps in order, numbered, and goes back when a step says so", async () => {
  const run = fakeRun(fakePrompter([]));
  const order: string[] = [];
  let tokenTries = 0;
  const steps: SetupStep[] = [
    { title: "Repository", run: () => Promise.resolve(void order.push("repository")) },
    {
      title: "Token",
      run: () => {
        order.push("token");
        return Promise.resolve(++tokenTries === 1 ? "Repository" : undefined);
      },
    },
    { title: "Chunking", run: () => Promise.resolve(void order.push("chunking")) },
  ];
  await runSteps(run, { fresh: false }, steps);
  assert.deepEqual(order, ["repository", "token", "repository", "token", "chunking"]);
  assert.deepEqual(run.lines.filter((line) => line.startsWith("Step")), [
    "Step 1/8 · Repository",
    "Step 2/8 · Token",
    "Step 1/8 · Repository",
    "Step 2/8 · Token",
    "Step 3/8 · Chunking",
  ]);
});
