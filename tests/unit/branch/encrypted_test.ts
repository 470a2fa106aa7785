/**
 * Encrypted recordings read back: a branch with plain chunks followed by
 * encrypted ones restores byte-identical with `--identity` (issue 15,
 * acceptance 3); without an identity, or with the wrong one, restore names
 * `--identity` and writes nothing (acceptance 2); `verify` reports, by
 * range, the chunks the identity cannot decrypt; `list` reads sealed
 * manifests with the identity and still lists them without one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { newIdentity } from "../../../lib/crypto/mod.ts";
import { assertTools, ignoreWithout } from "../../support/env.ts";
import { lineRanges, makeCast, pushRecording, withFakeRemote } from "../../support/fake_branch.ts";

const TOOLS = ["git", "zstd"];

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test({
  name:
    "a branch of plain chunks then encrypted ones restores byte-identical with --identity; without it nothing is written",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, work, cli }) => {
      const key = await newIdentity();
      const keyFile = join(t.root, "key.txt");
      await Deno.writeTextFile(keyFile, `# test key\n${key.identity}\n`, { mode: 0o600 });
      const cast = makeCast(400, { seed: "MIXED" });
      await pushRecording(remote, {
        id: "mixed",
        data: cast,
        ranges: lineRanges(cast, 7),
        manifest: true,
        recipients: [key.recipient],
        encryptFrom: 3,
      });

      const without = await cli(["restore", "--repo", remote, "mixed"]);
      assert.equal(without.code, 1, without.stderr);
      assert.match(without.stderr, /mixed is encrypted \(age\); nothing was written/);
      assert.match(without.stderr, /--identity FILE/);
      assert.match(without.stderr, /Then run: .*restore .*mixed.* --identity FILE/);
      assert.deepEqual(await listDir(work), [], "nothing written, no temporary left");

      const other = await newIdentity();
      const otherFile = join(t.root, "other.txt");
      await Deno.writeTextFile(otherFile, `${other.identity}\n`);
      const wrong = await cli(["restore", "--repo", remote, "--identity", otherFile, "mixed"]);
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(wrong.stderr, /cannot be decrypted: it is encrypted to other recipients/);
      assert.match(wrong.stderr, /--identity/);
      assert.deepEqual(await listDir(work), []);

      const restored = await cli(["restore", "--repo", remote, "--identity", keyFile, "mixed"]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(restored.stdout, /Complete/);
      assert.deepEqual(await Deno.readFile(join(work, "mixed.cast")), cast);

      // In progress (no manifest): chunk by chunk, decrypted, labelled partial.
      const live = makeCast(120, { seed: "LIVE" });
      await pushRecording(remote, { id: "live", data: live, recipients: [key.recipient] });
      const partial = await cli(["restore", "--repo", remote, "--identity", keyFile, "live"]);
      assert.equal(partial.code, 0, partial.stderr);
      assert.match(partial.stdout, /PARTIAL/);
      assert.deepEqual(await Deno.readFile(join(work, "live.cast")), live);

      // The identity from the environment (the key itself) works the same.
      const env = { ...t.env, ASCIINEMA_AGE_IDENTITY: key.identity };
      const fromEnv = await cli(["restore", "--repo", remote, "-o", "env.cast", "mixed"], { env });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      assert.deepEqual(await Deno.readFile(join(work, "env.cast")), cast);
    });
  },
});

Deno.test({
  name:
    "verify reports by range the chunks the identity cannot decrypt (recipients changed mid-recording); list reads sealed manifests",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, cli }) => {
      const [old, current] = [await newIdentity(), await newIdentity()];
      const oldFile = join(t.root, "old.txt");
      await Deno.writeTextFile(oldFile, `${old.identity}\n`);
      const bothFile = join(t.root, "both.txt");
      await Deno.writeTextFile(bothFile, `${old.identity}\n${current.identity}\n`);
      const cast = makeCast(300, { seed: "ROTATED" });
      const ranges = lineRanges(cast, 6);
      await pushRecording(remote, {
        id: "rotated",
        data: cast,
        ranges: ranges.slice(0, 3),
        recipients: [old.recipient],
      });
      await pushRecording(remote, {
        id: "rotated",
        data: cast,
        ranges: ranges.slice(3),
        manifest: { chunks: 6 },
        recipients: [current.recipient],
      });

      const partly = await cli(["verify", "--repo", remote, "--identity", oldFile, "--json"]);
      assert.equal(partly.code, 1, partly.stderr);
      const report = JSON.parse(partly.stdout);
      const problems = report.recordings[0].problems;
      const undecryptable = problems.filter((p: { kind: string }) => p.kind === "undecryptable");
      assert.deepEqual(
        undecryptable.filter((p: { seq?: number }) => p.seq !== undefined).map((
          p: { seq: number; start: number; end: number },
        ) => [p.seq, p.start, p.end]),
        ranges.slice(3).map((r) => [r.seq, r.start, r.end]),
      );
      assert.ok(problems.some((p: { message: string }) => /manifest\.json\.age/.test(p.message)));
      const text = await cli(["verify", "--repo", remote, "--identity", oldFile]);
      assert.match(text.stdout, /\[undecryptable\] chunk #3 \(bytes \d+-\d+\) cannot be decrypted/);

      const whole = await cli(["verify", "--repo", remote, "--identity", bothFile]);
      assert.equal(whole.code, 0, whole.stdout + whole.stderr);
      assert.match(whole.stdout, /ok {4}rotated: 6 chunks/);
      assert.doesNotMatch(whole.stdout, /warning/, "encrypted chunks are checked by age's tags");

      const locked = await cli(["list", "--repo", remote]);
      assert.equal(locked.code, 0, locked.stderr);
      assert.match(locked.stdout, /rotated\s+complete \(encrypted\)\s+6/);
      assert.match(locked.stderr, /encrypted manifests were not read: .*--identity/);
      const open = await cli(["list", "--repo", remote, "--identity", bothFile, "--json"]);
      const listed = JSON.parse(open.stdout).recordings[0];
      assert.equal(listed.complete, true);
      assert.equal(listed.started, "2024-01-02T03:04:05.000Z", "from the decrypted manifest");
      assert.equal(listed.bytes, cast.length);
    });
  },
});
