/**
 * Children start in their own session without forking the Deno process (on
 * Linux through util-linux `setsid`), and a missing command still reads as
 * "command not found".
 */
import assert from "node:assert/strict";
import { run } from "../../../lib/sys/exec.ts";
import { git, gitSubcommand } from "../../../lib/git/hermetic.ts";
import { setsidCommand, setsidNotFound, spawnInSession } from "../../../lib/sys/session_spawn.ts";

Deno.test("setsidCommand: the command after `--`, never one of setsid's options", () => {
  assert.deepEqual(setsidCommand("/usr/bin/setsid", "-x", ["--help"]), {
    command: "/usr/bin/setsid",
    args: ["-w", "--", "-x", "--help"],
  });
});

Deno.test("setsidNotFound: only setsid's own message with status 127", () => {
  const said = "setsid: failed to execute nope: No such file or directory\n";
  assert.equal(setsidNotFound(127, said), true);
  assert.equal(setsidNotFound(1, said), false);
  assert.equal(setsidNotFound(127, "nope: something else\n"), false);
  assert.equal(setsidNotFound(127, "setsid: failed to execute x: Permission denied\n"), false);
});

Deno.test({
  name: "on Linux a child leads its own session and group, started through setsid",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const { child, viaSetsid } = spawnInSession("sleep", {
      args: ["30"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    });
    try {
      assert.equal(viaSetsid, true);
      // /proc/<pid>/stat: pid (comm) state ppid pgrp session ...
      let fields: string[] = [];
      for (let i = 0; i < 200; i++) {
        const stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
        fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // setsid has exec'd the command once the name is its own.
        if (stat.includes("(sleep)")) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(Number(fields[2]), child.pid, "group leader");
      assert.equal(Number(fields[3]), child.pid, "session leader");
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

Deno.test("a missing command is `command not found` (127), through setsid or not", async () => {
  const result = await run("asciinema-chunker-no-such-tool");
  assert.equal(result.code, 127);
  assert.equal(result.success, false);
  assert.equal(result.stderr, "asciinema-chunker-no-such-tool: command not found");
});

Deno.test({
  name: "a command run `alone` stays in the caller's group; others lead their own",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // The child prints its own process group (field 5 of /proc/self/stat, after the name).
    const script = "read -r line < /proc/self/stat; set -- ${line##*) }; echo $3";
    const own = Number(
      (await Deno.readTextFile("/proc/self/stat")).split(") ")[1].split(" ")[2],
    );
    const alone = await run("sh", { args: ["-c", script], alone: true });
    const grouped = await run("sh", { args: ["-c", script] });
    assert.equal(Number(alone.stdout.trim()), own);
    assert.notEqual(Number(grouped.stdout.trim()), own);
  },
});

Deno.test({
  name: "git plumbing runs alone (in the caller's group); a transport gets its own session",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    assert.equal(gitSubcommand(["-c", "core.compression=0", "push", "--quiet"]), "push");
    assert.equal(gitSubcommand(["--literal-pathspecs", "ls-tree", "-r"]), "ls-tree");
    assert.equal(gitSubcommand(["-C", "/x", "rev-parse"]), "rev-parse");
    // A `git` on PATH that prints its process group.
    const bin = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${bin}/git`,
        "#!/bin/sh\nread -r line < /proc/self/stat; set -- ${line##*) }; echo $3\n",
        { mode: 0o755 },
      );
      const base = { get: (key: string) => key === "PATH" ? `${bin}:/usr/bin:/bin` : undefined };
      const own = Number(
        (await Deno.readTextFile("/proc/self/stat")).split(") ")[1].split(" ")[2],
      );
      const plumbing = await git(["--literal-pathspecs", "rev-parse", "HEAD"], { base });
      const transport = await git(["-c", "core.compression=0", "push", "origin"], { base });
      assert.equal(Number(plumbing.stdout.trim()), own);
      assert.notEqual(Number(transport.stdout.trim()), own);
    } finally {
      await Deno.remove(bin, { recursive: true });
    }
  },
});
