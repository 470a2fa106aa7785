/**
 * The command line of `setup.ts` (task `daemon-setup`): flags, standard
 * input and Ctrl-C. The flow itself is lib/setup/wizard.ts.
 *
 * Interactive when standard input is a terminal and `--yes` is not given;
 * otherwise unattended: it never prompts, and a missing answer ends it at
 * once with an error naming the flag (exit 2).
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { homePaths, numberOption, resolveHome } from "../sys/mod.ts";
import { EXIT_CANCELLED, EXIT_USAGE, type SetupFlags } from "./answers.ts";
import { inquirerPrompter, type Prompter } from "./prompter.ts";
import { runSetup } from "./wizard.ts";

/** How long `--pat-stdin` waits for the first line. */
const STDIN_TIMEOUT_MS = 30_000;

/** `--idle`, `--zstd`: any number (the settings check the range). */
const numberFlag = numberOption("a number", { problem: () => "not a number" });

/** Builds the `setup.ts` command (its action is supplied by {@linkcode main}). */
export function setupCommand() {
  return new Command()
    .name("setup.ts")
    .description(
      "Sets up asciinema-chunker: checks the tools, the repository and a GitHub token, stores " +
        "the token in the keyring, writes config.json and installs the service. Without a " +
        "terminal (or with --yes) it asks nothing: give the answers as flags.",
    )
    .option("-y, --yes", "unattended: never prompt; a missing answer is an error naming its flag")
    .option("--repo <url>", "repository to back up to (https://github.com/OWNER/REPO.git)")
    .option("--branch <name>", "orphan branch for the recordings (default asciinema-recordings)")
    .option(
      "--github-api <url>",
      "GitHub API (default https://api.github.com; Enterprise: https://HOST/api/v3)",
    )
    .option("--pat-stdin", "read the GitHub token from standard input (else ASCIINEMA_GITHUB_PAT)")
    .option(
      "--age-recipient <age1…>",
      "encrypt the chunks to this age recipient (repeatable: a personal and a team key)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option(
      "--age-identity-stdin",
      "read an age identity (AGE-SECRET-KEY-1…) from standard input: stored in the keyring, " +
        "its recipient encrypts the chunks",
    )
    .option(
      "--no-pushover",
      "no Pushover notices (keys otherwise from ASCIINEMA_PUSHOVER_APP/_USER)",
    )
    .option(
      "--pushover-api <url>",
      "Pushover endpoint (default https://api.pushover.net/1/messages.json)",
    )
    .option("--ntfy <url>", "send notices to this ntfy topic URL")
    .option(
      "--idle <seconds>",
      "seconds without output before a chunk is cut (5-3600, default 30)",
      numberFlag,
    )
    .option("--zstd <level>", "zstd level (1-19, default 3)", numberFlag)
    .option("--no-service", "write the settings but install no service")
    .option("--detach", "run the service detached (own session, no service manager)")
    .option("--no-compile", "do not compile the daemon (a current binary or deno run)")
    .option("--show-definition", "print the launchd/systemd definition before installing it")
    .option("--fresh", "fresh install: delete the stored credentials first")
    .option("--uninstall", "stop and remove the service (recordings, spool and clones stay)")
    .option("--delete-credentials", "with --uninstall: delete the stored credentials too")
    .showHelpAfterError()
    .exitOverride();
}

/** Reads standard input up to its first line break (or its end), with a timeout. */
async function readStdinLine(timeoutMs: number = STDIN_TIMEOUT_MS): Promise<string> {
  const reader = Deno.stdin.readable.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (timedOut && !text.trim()) {
    throw new Error(
      `nothing arrived on standard input within ${timeoutMs / 1000} s (--pat-stdin expects the ` +
        `token as its first line)`,
    );
  }
  return text;
}

/** Reads standard input to its end (an age identity file), with a timeout. */
async function readStdinAll(timeoutMs: number = STDIN_TIMEOUT_MS): Promise<string> {
  const limit = AbortSignal.timeout(timeoutMs);
  const reader = Deno.stdin.readable.getReader();
  const stop = () => reader.cancel().catch(() => {});
  limit.addEventListener("abort", stop);
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    limit.removeEventListener("abort", stop);
    reader.releaseLock();
  }
  if (limit.aborted && !text.trim()) {
    throw new Error(`nothing arrived on standard input within ${timeoutMs / 1000} s`);
  }
  return text;
}

/** Runs setup with `argv`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let flags: SetupFlags;
  try {
    flags = setupCommand().parse(argv, { from: "user" }).opts();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (
      code === "commander.helpDisplayed" || code === "commander.help" ||
      code === "commander.version"
    ) {
      return 0;
    }
    return EXIT_USAGE;
  }
  const stdinIsTerminal = Deno.stdin.isTerminal();
  let prompter: Prompter | undefined;
  if (stdinIsTerminal && !flags.yes) prompter = inquirerPrompter();
  const controller = new AbortController();
  const onInterrupt = () => {
    // A second Ctrl-C while the first is being honoured: leave at once.
    if (controller.signal.aborted) Deno.exit(EXIT_CANCELLED);
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    return await runSetup(flags, {
      paths: homePaths(resolveHome()),
      // `deno task` runs in the project folder; INIT_CWD is where it was typed.
      cwd: Deno.env.get("INIT_CWD") || Deno.cwd(),
      signal: controller.signal,
      io: {
        say: (line) => console.log(line),
        prompter,
        stdinIsTerminal,
        readStdin: () => readStdinLine(),
        readStdinText: () => readStdinAll(),
      },
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    // A prompt may have hidden the cursor.
    if (Deno.stdout.isTerminal()) await Deno.stdout.write(new TextEncoder().encode("\x1b[?25h"));
  }
}
