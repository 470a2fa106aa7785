/** The benchmark's process tree (bench/proc.ts): a process and all its descendants, no others. */
import assert from "node:assert/strict";
import { processTree, readStat } from "../../../bench/proc.ts";
import { waitFor } from "../../support/env.ts";

Deno.test({
  name: "processTree: a shell, its two children and a grandchild; nothing else",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const child = new Deno.Command("sh", {
      args: ["-c", "sleep 30 & sh -c 'sleep 30 & wait' & wait"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitFor(() => processTree(child.pid).length === 4, {
        what: "the shell's children",
        timeoutMs: 10_000,
        intervalMs: 10,
      });
      const tree = processTree(child.pid);
      assert.equal(tree[0], child.pid);
      // Every other member's parent is in the tree; this process is not.
      for (const pid of tree.slice(1)) assert.ok(tree.includes(readStat(pid)!.ppid));
      assert.ok(!tree.includes(Deno.pid));
      assert.deepEqual(processTree(2 ** 22 + 1), [2 ** 22 + 1]); // no such process: itself only
    } finally {
      // The whole group: the shell's children were started in it.
      for (const pid of processTree(child.pid).reverse()) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await child.status;
    }
  },
});
