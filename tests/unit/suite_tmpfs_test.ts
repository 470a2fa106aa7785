import assert from "node:assert/strict";
import { join } from "node:path";
import { INSIDE_ENV, probeTmpfs, tmpfsCommand, tmpfsWanted } from "../suite_tmpfs.ts";

Deno.test("the suite asks for a private tmpfs only as root on Linux, once, unless TEST_TMPFS=0", () => {
  const root = { os: "linux", uid: 0, inside: undefined, setting: undefined };
  assert.equal(tmpfsWanted(root), true);
  assert.equal(tmpfsWanted({ ...root, setting: "1" }), true);
  assert.equal(tmpfsWanted({ ...root, setting: "0" }), false);
  assert.equal(tmpfsWanted({ ...root, inside: "/tmp/chunker-suite-x" }), false);
  assert.equal(tmpfsWanted({ ...root, uid: 1000 }), false);
  assert.equal(tmpfsWanted({ ...root, os: "darwin" }), false);
  assert.equal(tmpfsWanted({ ...root, uid: null, os: "windows" }), false);
});

Deno.test("the tmpfs command keeps the folder and the program as arguments, never as script text", () => {
  const argv = tmpfsCommand("/tmp/a'b", ["deno", "run", "$(x)"]);
  assert.equal(argv.slice(0, 6).join(" "), "unshare --mount --propagation private -- sh");
  assert.equal(argv[6], "-c");
  assert.ok(!argv[7].includes("a'b") && !argv[7].includes("$(x)"));
  assert.deepEqual(argv.slice(8), ["sh", "/tmp/a'b", "deno", "run", "$(x)"]);
});

Deno.test({
  name: "under the private tmpfs TMPDIR is a tmpfs nobody else sees, and nothing is left after",
  // Mounting needs root with CAP_SYS_ADMIN on Linux; elsewhere the runner runs on disk.
  ignore: await ignoreWithoutTmpfs(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tmpfs-test-" });
    const out = join(await Deno.makeTempDir({ prefix: "tmpfs-test-out-" }), "seen");
    try {
      const script = `stat -f -c %T "$TMPDIR" > "$1"; echo "$${INSIDE_ENV}" >> "$1"; ` +
        `touch "$TMPDIR/left-behind"; stat -f -c %T "${dir}" >> "$1"`;
      const [program, ...args] = tmpfsCommand(dir, ["sh", "-c", script, "sh", out]);
      const ran = await new Deno.Command(program, { args, stderr: "piped" }).output();
      assert.ok(ran.success, new TextDecoder().decode(ran.stderr));
      const [fsType, inside, sameDir] = (await Deno.readTextFile(out)).trim().split("\n");
      assert.equal(fsType, "tmpfs");
      assert.equal(inside, dir);
      assert.equal(sameDir, "tmpfs");
      // Outside the namespace the folder is the empty one it was: the tmpfs went with the run.
      assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(join(out, ".."), { recursive: true });
    }
  },
});

async function ignoreWithoutTmpfs(): Promise<boolean> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) {
    console.warn("ignored: a private tmpfs needs root on Linux (the suite then runs on disk)");
    return true;
  }
  const dir = await Deno.makeTempDir({ prefix: "tmpfs-probe-" });
  try {
    const probe = await probeTmpfs(dir);
    if (probe.ok) return false;
    console.warn(`ignored: no private tmpfs here (${probe.why}; the suite then runs on disk)`);
    return true;
  } finally {
    await Deno.remove(dir);
  }
}
