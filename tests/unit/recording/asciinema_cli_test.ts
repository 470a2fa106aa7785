/** asciinema versions and `rec` command lines (lib/recording/asciinema_cli.ts). */
import assert from "node:assert/strict";
import {
  buildRecArgs,
  captureInputFlag,
  parseAsciinemaVersion,
} from "../../../lib/recording/mod.ts";

Deno.test("asciinema versions and rec arguments for 2.x and 3.x", () => {
  const v2 = parseAsciinemaVersion("asciinema 2.2.0\n")!;
  const v3 = parseAsciinemaVersion("asciinema 3.1.0")!;
  const rc = parseAsciinemaVersion("asciinema 3.0.0-rc.3")!;
  assert.deepEqual([v2.major, v2.minor, v2.patch, v2.text], [2, 2, 0, "2.2.0"]);
  assert.deepEqual([v3.major, v3.text], [3, "3.1.0"]);
  assert.deepEqual([rc.major, rc.prerelease, rc.text], [3, "rc.3", "3.0.0-rc.3"]);
  assert.equal(parseAsciinemaVersion("nope"), undefined);
  assert.equal(captureInputFlag(v2), "--stdin");
  assert.equal(captureInputFlag(v3), "--capture-input");
  assert.equal(captureInputFlag(rc), "-I");

  const options = {
    file: "/h/active/x.cast",
    title: "-t looks like an option",
    command: "echo hi",
    idleTimeLimit: 2.5,
    captureInput: true,
    overwrite: true,
  };
  assert.deepEqual(buildRecArgs(v2, options), [
    "rec",
    "--stdin",
    "--title=-t looks like an option",
    "--command=echo hi",
    "--idle-time-limit=2.5",
    "--overwrite",
    "/h/active/x.cast",
  ]);
  assert.deepEqual(buildRecArgs(v3, options), [
    "rec",
    "--capture-input",
    "--title=-t looks like an option",
    "--command=echo hi",
    "--idle-time-limit=2.5",
    "--overwrite",
    "/h/active/x.cast",
  ]);
  assert.deepEqual(buildRecArgs(v3, { file: "/x.cast" }), ["rec", "/x.cast"]);
  assert.throws(() => buildRecArgs(v2, { file: "/x.cast", idleTimeLimit: -1 }), /positive/);
  assert.throws(() => buildRecArgs(v2, { file: "-x.cast" }), /option/);
});
