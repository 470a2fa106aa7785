/**
 * `restore` (and `list`): a fresh machine gets the original bytes back
 * (acceptance 1), a recording in progress restores up to the last pushed
 * byte labelled partial (acceptance 3), nothing is overwritten without
 * --force, nothing is written when a chunk is damaged, and the daemon's
 * local clone is used when the remote cannot be reached.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gitChecked, isPartialClone, RepoClone, repoSlug } from "../../../lib/git/mod.ts";
import { RestoreError, restoreRecording } from "../../../lib/branch/mod.ts";
import { assertTools, ignoreWithout } from "../../support/env.ts";
import { startGitHttpServer } from "../../support/git_http_server.ts";
import {
  initBare,
  lineRanges,
  makeCast,
  pushRecording,
  readOnBranch,
  sha256Hex,
  tamper,
  withFakeRemote,
  zstdCompress,
} from "../../support/fake_branch.ts";

const TOOLS = ["git", "zstd"];
const BRANCH = "asciinema-recordings";

async function listDir(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test({
  name: "acceptance 1: restore --repo on a fresh HOME produces the original bytes",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, work, cli }) => {
      // Machine A backed up two recordings to a remote; this HOME never saw them.
      const id = "-odd id 'ü' \"x\"";
      const cast = makeCast(500);
      await pushRecording(remote, { id, data: cast, ranges: lineRanges(cast, 7), manifest: true });
      await pushRecording(remote, { id: "other", data: makeCast(20, { seed: "o" }) });
      await assert.rejects(() => Deno.stat(t.paths.home), Deno.errors.NotFound);

      // Over git's transport (file://: a fetch into a temporary repository).
      const fetched = await cli(["restore", "--repo", `file://${remote}`, "--", id]);
      assert.equal(fetched.code, 0, fetched.stderr);
      assert.deepEqual(await Deno.readFile(join(work, `${id}.cast`)), cast);
      assert.equal((await Deno.stat(join(work, `${id}.cast`))).mode! & 0o777, 0o600);
      assert.match(fetched.stdout, /Complete/);
      assert.match(fetched.stdout, /fetched/);

      // A plain path is read in place; -o picks the file.
      const direct = await cli(
        ["restore", "-o", "copy.cast", "--repo", remote, "--branch", BRANCH, "--", id],
      );
      assert.equal(direct.code, 0, direct.stderr);
      assert.deepEqual(await Deno.readFile(join(work, "copy.cast")), cast);
      assert.deepEqual(await listDir(work), [`${id}.cast`, "copy.cast"]); // no temp files left

      // list on the fresh machine shows both, neither local.
      const listed = await cli(["list", "--repo", remote, "--json"]);
      assert.equal(listed.code, 0, listed.stderr);
      const doc = JSON.parse(listed.stdout);
      const byId = new Map(doc.recordings.map((r: { id: string }) => [r.id, r]));
      assert.deepEqual(byId.get(id), {
        id,
        complete: true,
        chunks: 7,
        bytes: cast.length,
        compressed: (byId.get(id) as { compressed: number }).compressed,
        started: "2024-01-02T03:04:05.000Z",
        ended: "2024-01-02T04:05:06.000Z",
        last_chunk: (byId.get(id) as { last_chunk: string }).last_chunk,
        local: null,
      });
      assert.equal((byId.get("other") as { complete: boolean }).complete, false);
    });
  },
});

Deno.test({
  name:
    "acceptance 3: a recording in progress restores up to the last pushed byte, labelled partial",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, work, cli }) => {
      const cast = makeCast(300);
      const ranges = lineRanges(cast, 5);
      await pushRecording(remote, { id: "live", data: cast, ranges: ranges.slice(0, 3) });

      const partial = await cli(["restore", "live", "--repo", remote]);
      assert.equal(partial.code, 0, partial.stderr);
      assert.match(partial.stdout, /PARTIAL: live has no manifest/);
      assert.match(partial.stdout, new RegExp(`bytes 0-${ranges[2].end}`));
      assert.deepEqual(
        await Deno.readFile(join(work, "live.cast")),
        cast.subarray(0, ranges[2].end),
      );

      const list = await cli(["list", "--repo", remote]);
      assert.match(list.stdout, /live\s+in progress\s+3\s/);

      // The rest arrives and the recording ends: a forced restore is complete.
      await pushRecording(remote, {
        id: "live",
        data: cast,
        ranges: ranges.slice(3),
        manifest: { chunks: 5 },
      });
      const complete = await restoreRecording("live", {
        repoUrl: remote,
        paths: t.paths,
        cwd: work,
        force: true,
      });
      assert.equal(complete.partial, false);
      assert.equal(complete.bytes, cast.length);
      assert.deepEqual(await Deno.readFile(join(work, "live.cast")), cast);
    });
  },
});

Deno.test({
  name: "restore never overwrites without --force, and writes nothing from a damaged branch",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, work, cli }) => {
      const cast = makeCast(200);
      const ranges = await pushRecording(remote, { id: "r", data: cast, manifest: true });
      await Deno.writeTextFile(join(work, "r.cast"), "precious");

      const refused = await cli(["restore", "r", "--repo", remote]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /already exists: pass --force/);
      assert.equal(await Deno.readTextFile(join(work, "r.cast")), "precious");

      const forced = await cli(["restore", "r", "--repo", remote, "--force"]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual(await Deno.readFile(join(work, "r.cast")), cast);

      // An existing directory as -o gets <id>.cast inside it.
      await Deno.mkdir(join(work, "out"));
      await restoreRecording("r", { repoUrl: remote, paths: t.paths, cwd: work, output: "out" });
      assert.deepEqual(await Deno.readFile(join(work, "out", "r.cast")), cast);

      // Chunk #2 damaged: nothing is written, the problem is named.
      const path = `chunks/r/${String(2).padStart(6, "0")}_${ranges[2].start}-${
        ranges[2].end
      }.cast.zst`;
      const blob = await readOnBranch(remote, { path });
      await tamper(remote, { path, content: blob.subarray(0, blob.length >> 1) });
      const damaged = await cli(["restore", "r", "--repo", remote, "-o", "new.cast"]);
      assert.equal(damaged.code, 1);
      assert.match(damaged.stderr, /nothing was written/);
      assert.match(
        damaged.stderr,
        new RegExp(`chunk #2 \\(bytes ${ranges[2].start}-${ranges[2].end}\\): truncated`),
      );
      assert.deepEqual(await listDir(work), ["out", "r.cast"]);

      const missing = await restoreRecording("nope", { repoUrl: remote, paths: t.paths, cwd: work })
        .catch((error) => error);
      assert.ok(missing instanceof RestoreError);
      assert.equal(missing.kind, "not_found");
    });
  },
});

Deno.test({
  name: "restore reads the configured or embedded remote, and falls back to the local clone",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, work, cli }) => {
      // No config: the embedded backup.git.
      const cast = makeCast(100, { seed: "embedded" });
      await initBare(t.paths.backupGit);
      await pushRecording(t.paths.backupGit, { id: "e", data: cast, manifest: true });
      await Deno.mkdir(t.paths.active, { recursive: true });
      await Deno.writeTextFile(join(t.paths.active, "e.cast"), "");
      const embedded = await restoreRecording("e", { paths: t.paths, cwd: work });
      assert.equal(embedded.via, "direct");
      assert.deepEqual(await Deno.readFile(embedded.output), cast);
      const list = await cli(["list"]);
      assert.match(list.stdout, /^e\s+complete\s+4\s.*\sactive$/m);

      // config.json names a remote that is unreachable; the daemon's clone of it has the chunks.
      const url = `file://${join(t.root, "gone.git")}`;
      const branch = "rec";
      await Deno.writeTextFile(t.paths.config, JSON.stringify({ repo_url: url, branch }));
      const clone = join(t.paths.repos, "renamed-clone.git"); // found by its config, not its name
      await initBare(clone);
      await gitChecked(["config", "remote.origin.url", url], { gitDir: clone });
      await gitChecked(["config", "chunker.branch", branch], { gitDir: clone });
      const data = makeCast(80, { seed: "clone" });
      await pushRecording(clone, { id: "c", data, branch });
      const fromClone = await restoreRecording("c", { paths: t.paths, cwd: work });
      assert.equal(fromClone.via, "local-clone");
      assert.equal(fromClone.partial, true);
      assert.match(fromClone.notes.join("\n"), /fetching .* failed/);
      assert.deepEqual(await Deno.readFile(fromClone.output), data);

      // Reachable remote plus a clone (found by slug): fetched, borrowing the clone's objects.
      await pushRecording(remote, { id: "c", data, branch, manifest: true });
      const remoteUrl = `file://${remote}`;
      const slugClone = join(t.paths.repos, repoSlug({ url: remoteUrl, branch }));
      await initBare(slugClone);
      await pushRecording(slugClone, { id: "c", data, branch });
      const fetched = await restoreRecording("c", {
        repoUrl: remoteUrl,
        paths: t.paths,
        cwd: work,
        output: "fetched.cast",
      });
      assert.equal(fetched.via, "fetched");
      assert.equal(fetched.partial, false);
      assert.deepEqual(await Deno.readFile(fetched.output), data);
      const offline = await restoreRecording("c", {
        repoUrl: remoteUrl,
        branch,
        paths: t.paths,
        cwd: work,
        output: "offline.cast",
        offline: true,
      });
      assert.equal(offline.via, "local-clone");
      assert.deepEqual(await Deno.readFile(offline.output), data);
    });
  },
});

Deno.test({
  name: "restore over HTTP(S) uses the credential store's token, never argv or the URL",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const token = "ghp_restoreTestToken0123456789abcdefABCD";
    await withFakeRemote(async ({ t, work, cli }) => {
      const server = await startGitHttpServer({ token });
      try {
        const repo = await server.createRepo("rec");
        const cast = makeCast(150);
        await pushRecording(repo, { id: "r", data: cast, manifest: true });
        const url = server.repoUrl("rec");
        // The loopback host may receive the token (github_token_hosts).
        await Deno.mkdir(t.paths.home, { recursive: true });
        await Deno.writeTextFile(t.paths.config, '{"github_token_hosts": ["127.0.0.1"]}');

        // No token: an anonymous fetch is refused, and the message says where the token goes.
        const refused = await cli(["restore", "r", "--repo", url]);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /credential store/);
        assert.deepEqual(await Array.fromAsync(Deno.readDir(work)), []);

        // Token in the (env) credential store: fetched over loopback HTTP with it.
        const env = { ...t.env, ASCIINEMA_GITHUB_PAT: token };
        const ok = await cli(["restore", "r", "--repo", url], { env });
        assert.equal(ok.code, 0, ok.stderr);
        assert.deepEqual(await Deno.readFile(join(work, "r.cast")), cast);
        assert.ok(!ok.stdout.includes(token) && !ok.stderr.includes(token));
        const listed = await cli(["verify", "--repo", url], { env });
        assert.equal(listed.code, 0, listed.stdout + listed.stderr);
        assert.ok(server.stats.accepted > 0);
      } finally {
        await server.stop();
      }
    });
  },
});

Deno.test({
  name:
    "restore hashes the whole file once, yet still names a bad chunk: same-length content swapped, a corrupt frame, and without a manifest",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ remote, work, cli }) => {
      const cast = makeCast(300);
      const ranges = await pushRecording(remote, { id: "h", data: cast, manifest: true });
      const ok = await cli(["restore", "h", "--repo", remote]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(await Deno.readFile(join(work, "h.cast")), cast);
      assert.match(ok.stdout, new RegExp(`sha256 ${sha256Hex(cast)}`));

      // Chunk #1 replaced by a valid frame of other bytes of the same length: zstd is happy, only
      // the hashes can tell, and the chunk is named by its Cast-Sha256.
      const name = (seq: number) =>
        `chunks/h/${String(seq).padStart(6, "0")}_${ranges[seq].start}-${ranges[seq].end}.cast.zst`;
      const original = cast.subarray(ranges[1].start, ranges[1].end);
      const swapped = original.map((byte) => byte === 0x6c ? 0x4c : byte);
      assert.notDeepEqual(swapped, original);
      await tamper(remote, { path: name(1), content: await zstdCompress(swapped) });
      const checksum = await cli(["restore", "h", "--repo", remote, "-o", "a.cast"]);
      assert.equal(checksum.code, 1);
      assert.match(
        checksum.stderr,
        new RegExp(`chunk #1 \\(bytes ${ranges[1].start}-${ranges[1].end}\\): checksum mismatch`),
      );

      // A flipped byte inside chunk #3's frame: zstd's own checksum fails; chunk #3 is named.
      await tamper(remote, {
        path: name(1),
        content: await zstdCompress(original),
      });
      const frame = await readOnBranch(remote, { path: name(3) });
      const flipped = frame.slice();
      flipped[flipped.length >> 1] ^= 0xff;
      await tamper(remote, { path: name(3), content: flipped });
      const corrupt = await cli(["restore", "h", "--repo", remote, "-o", "b.cast"]);
      assert.equal(corrupt.code, 1);
      assert.match(
        corrupt.stderr,
        new RegExp(`chunk #3 \\(bytes ${ranges[3].start}-${ranges[3].end}\\)`),
      );
      assert.deepEqual(await listDir(work), ["h.cast"]); // nothing written, no temp folder left

      // No manifest: chunk by chunk, the bad one named.
      const live = makeCast(120, { seed: "live" });
      const liveRanges = lineRanges(live, 4);
      await pushRecording(remote, { id: "live", data: live, ranges: liveRanges.slice(0, 3) });
      const path = `chunks/live/000001_${liveRanges[1].start}-${liveRanges[1].end}.cast.zst`;
      const liveSwap = live.subarray(liveRanges[1].start, liveRanges[1].end).map((b) =>
        b === 0x6c ? 0x4c : b
      );
      await tamper(remote, { path, content: await zstdCompress(liveSwap) });
      const partial = await cli(["restore", "live", "--repo", remote]);
      assert.equal(partial.code, 1);
      assert.match(partial.stderr, /chunk #1 \(bytes \d+-\d+\): checksum mismatch/);
    });
  },
});

Deno.test({
  name:
    "the daemon's filtered clone: read offline through a view where what it lacks is missing; a fetch takes the tip",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, work, cli }) => {
      await gitChecked(["config", "uploadpack.allowFilter", "true"], { gitDir: remote });
      const url = `file://${remote}`;
      const other = makeCast(60, { seed: "other" });
      await pushRecording(remote, { id: "other", data: other, manifest: true, records: true });
      // The daemon's clone: its first fetch takes the tip's trees, not the other machine's blobs.
      const gitDir = join(t.paths.repos, repoSlug({ url, branch: BRANCH }));
      const clone = new RepoClone({ url, branch: BRANCH }, { gitDir });
      await clone.lookupTip();
      const mine = makeCast(40, { seed: "mine" });
      const file = join(t.root, "mine.zst");
      await Deno.writeFile(file, await zstdCompress(mine));
      await clone.commit([{
        id: "mine",
        seq: 0,
        start: 0,
        end: mine.length,
        sha256: sha256Hex(mine),
        file,
      }]);
      await clone.push();
      assert.equal(await isPartialClone(gitDir), true);

      // Offline: every recording is listed (a filtered clone read in place would make git
      // ask the remote for each blob it lacks, and stop at the first).
      const listed = await cli(["list", "--json", "--offline", "--repo", url]);
      assert.equal(listed.code, 0, listed.stderr);
      const ids = JSON.parse(listed.stdout).recordings.map((r: { id: string }) => r.id).sort();
      assert.deepEqual(ids, ["mine", "other"]);
      const offline = await restoreRecording("mine", {
        repoUrl: url,
        paths: t.paths,
        cwd: work,
        output: "mine.cast",
        offline: true,
      });
      assert.equal(offline.via, "local-clone");
      assert.deepEqual(await Deno.readFile(offline.output), mine);
      await assert.rejects(
        restoreRecording("other", {
          repoUrl: url,
          paths: t.paths,
          cwd: work,
          output: "lacking.cast",
          offline: true,
        }),
      );

      // Online: fetched (the filtered clone lends nothing), whole.
      const fetched = await restoreRecording("other", {
        repoUrl: url,
        paths: t.paths,
        cwd: work,
        output: "other.cast",
      });
      assert.equal(fetched.via, "fetched");
      assert.deepEqual(await Deno.readFile(fetched.output), other);
    });
  },
});
