/**
 * `daemon.ts start [--detach]`, `daemon.ts stop` and `daemon.ts service
 * print launchd|systemd` (plus the hidden `service run-detached`, the
 * detached child). The backend is picked by lib/service/backend.ts.
 *
 * @module
 */
import { Argument, Command, Option } from "@commander-js/extra-typings";
import { runDaemon } from "./run.ts";
import { runStatus } from "./status.ts";
import { errorMessage, homePaths, resolveHome, termSafe } from "../sys/mod.ts";
import { exitWith, printLine } from "./output.ts";
import {
  claimPidfile,
  releasePidfile,
  serviceDefinition,
  serviceState,
  startService,
  stopService,
} from "../service/mod.ts";

function say(line: string): void {
  console.log(termSafe(line));
}

function paths() {
  return homePaths(resolveHome());
}

/** The `start` subcommand. */
export function startCommand() {
  return new Command("start")
    .description(
      "install and start the daemon as a service (launchd on macOS, systemd --user on Linux, " +
        "else detached)",
    )
    .option("--detach", "start it detached (own session, pidfile; not restarted after a crash)")
    .option("--no-compile", "do not compile; use the binary if current, else `deno run`")
    .action(async (options) => {
      if (Deno.build.standalone) {
        printLine("Run start from the source checkout: deno task daemon-start");
        return exitWith(2);
      }
      const home = paths();
      let outcome;
      try {
        outcome = await startService({
          paths: home,
          detach: options.detach ?? false,
          compile: options.compile === false ? "never" : "auto",
          say,
        });
      } catch (error) {
        printLine(`start failed: ${errorMessage(error)}`);
        return exitWith(1);
      }
      if (outcome.status === "failed") {
        printLine(`start failed (${outcome.backend}): ${outcome.message}`);
        return exitWith(1);
      }
      if (outcome.status === "already-running") {
        say(`The daemon is already running (${outcome.backend}, pid ${outcome.pid ?? "?"}).`);
        await runStatus({ paths: home, serviceState: () => serviceState({ paths: home }) });
        return exitWith(0);
      }
      if (outcome.program?.kind === "deno-run") {
        say(
          "Note: the service runs `deno run` with the daemon's permissions because there is no " +
            "compiled binary (" + (outcome.program.reason ?? "compile unavailable") + ").",
        );
      }
      say(
        `The daemon is ${
          outcome.status === "updated"
            ? "updated and "
            : outcome.status === "restarted"
            ? "restarted with the rebuilt program and "
            : ""
        }running (${outcome.backend}, pid ${
          outcome.pid ?? "?"
        }). Stop it with \`deno task daemon-stop\`; check it with ` +
          "`deno task daemon-status`.",
      );
      return exitWith(0);
    });
}

/** The `stop` subcommand. */
export function stopCommand() {
  return new Command("stop")
    .description("stop the daemon and keep it stopped until `start` (also at the next login)")
    .option("--timeout <seconds>", "how long to wait for it to exit", "3")
    .action(async (options) => {
      const timeout = Number(options.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) {
        printLine(`--timeout must be a positive number of seconds, got ${options.timeout}`);
        return exitWith(2);
      }
      const outcome = await stopService({ paths: paths(), timeoutMs: timeout * 1000, say });
      for (const problem of outcome.problems) printLine(`stop: ${problem}`);
      return exitWith(outcome.problems.length ? 1 : 0);
    });
}

/** The `service` subcommand: `print launchd|systemd` and the hidden detached child. */
export function serviceCommand() {
  const print = new Command("print")
    .description("print the service definition that `start` would install")
    .addArgument(
      new Argument("<manager>", "launchd or systemd").choices(["launchd", "systemd"] as const),
    )
    .addOption(
      new Option("--compiled", "show the compiled-binary form").conflicts("denoRun"),
    )
    .addOption(new Option("--deno-run", "show the `deno run` fallback form"))
    .action(async (manager, options) => {
      const compile = options.compiled ? "compiled" : options.denoRun ? "deno-run" : "never";
      const definition = await serviceDefinition(manager, {
        paths: paths(),
        compile,
        say: (line) => printLine(line),
      });
      printLine(`# ${definition.path} (${definition.spec.program.kind})`);
      if (compile === "never" && definition.spec.program.kind === "deno-run") {
        printLine(
          "# start first tries to compile the binary; when that works, the program is " +
            "<ASCIINEMA_HOME>/bin/asciinema-chunker run (see --compiled)",
        );
      }
      await Deno.stdout.write(new TextEncoder().encode(definition.text));
    });
  const runDetached = new Command("run-detached")
    .description("(internal) the detached daemon: claim the pidfile, then run")
    .action(async () => {
      const home = paths();
      const claim = await claimPidfile(home, { mode: "detached" });
      if (!claim.ok) {
        printLine(`asciinema-chunker: a daemon is already running (pid ${claim.pid ?? "?"})`);
        return exitWith(3);
      }
      let code = 1;
      try {
        code = await runDaemon();
      } finally {
        await releasePidfile(home);
      }
      return exitWith(code);
    });
  return new Command("service")
    .description("service definitions (launchd, systemd)")
    .addCommand(print)
    .addCommand(runDetached, { hidden: true });
}
