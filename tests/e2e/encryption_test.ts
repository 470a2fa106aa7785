/**
 * Issue 15, encryption end to end with the real daemon: with recipients
 * configured nothing of the recording's plaintext reaches the remote (a
 * marker searched in every object, zstd blobs decompressed too), `restore
 * --identity` gives it back byte-identical, and Debian's `age` reads a
 * chunk (`age -d -i key.txt CHUNK | zstd -d`) — acceptance 1. Recipients
 * added mid-recording (daemon restarted): plain chunks, then encrypted
 * ones, and the branch restores byte-identical — acceptance 3.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertTools,
  ignoreWithout,
  makeTestHome,
  type TestHome,
  waitFor,
} from "../support/env.ts";
import {
  assertTiling,
  type DaemonProcess,
  FAST_SETTINGS,
  remoteChunks,
  startDaemon,
  writeConfig,
} from "../support/daemon.ts";
import { bareRemote } from "../support/recording.ts";
import { runDaemonCli } from "../support/fake_branch.ts";
import { newIdentity } from "../../lib/crypto/mod.ts";
import { exists } from "../../lib/sys/fs.ts";
import { createHash } from "node:crypto";

const TOOLS = ["git", "zstd", "age"];
const MARKER = "MARKER-plaintext-7f3a9c";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BRANCH = "asciinema-recordings";

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function git(gitDir: string, args: string[], stdin?: Uint8Array): Uint8Array {
  const child = new Deno.Command("git", {
    args,
    env: { GIT_DIR: gitDir, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
  if (!stdin) {
    const out = child.outputSync();
    if (!out.success) throw new Error(`git ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
    return out.stdout;
  }
  throw new Error("stdin unsupported");
}

/** Every object of the repository, raw (`git cat-file --batch-all-objects --batch`). */
function allObjects(gitDir: string): { id: string; type: string; body: Uint8Array }[] {
  const out = git(gitDir, ["cat-file", "--batch-all-objects", "--batch"]);
  const objects: { id: string; type: string; body: Uint8Array }[] = [];
  let at = 0;
  while (at < out.length) {
    const newline = out.indexOf(10, at);
    const [id, type, size] = decoder.decode(out.subarray(at, newline)).split(" ");
    const start = newline + 1;
    objects.push({ id, type, body: out.subarray(start, start + Number(size)) });
    at = start + Number(size) + 1;
  }
  return objects;
}

function zstdDecompress(bytes: Uint8Array): Uint8Array | undefined {
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeFileSync(path, bytes);
    const out = new Deno.Command("zstd", {
      args: ["-d", "-q", "-c", path],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    return out.success ? out.stdout : undefined;
  } finally {
    Deno.removeSync(path);
  }
}

/** Asserts no object of `gitDir` holds `needles`, also inside any zstd frame. */
function assertAbsentEverywhere(gitDir: string, needles: string[]): number {
  const objects = allObjects(gitDir);
  assert.ok(objects.length > 0);
  let zstdBlobs = 0;
  for (const object of objects) {
    const bodies = [object.body];
    const magic = object.body[0] === 0x28 && object.body[1] === 0xb5 &&
      object.body[2] === 0x2f && object.body[3] === 0xfd;
    if (magic) {
      zstdBlobs++;
      const plain = zstdDecompress(object.body);
      if (plain) bodies.push(plain);
    }
    for (const body of bodies) {
      for (const needle of needles) {
        assert.equal(
          indexOf(body, encoder.encode(needle)),
          -1,
          `${object.type} ${object.id} holds ${needle.slice(0, 30)}`,
        );
      }
    }
  }
  return zstdBlobs;
}

function ageDecryptChunk(keyFile: string, chunkFile: string): Uint8Array {
  const out = new Deno.Command("sh", {
    args: ["-c", 'age -d -i "$1" "$2" | zstd -d -q -c', "sh", keyFile, chunkFile],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.ok(out.success, decoder.decode(out.stderr));
  return out.stdout;
}

async function keyFileIn(t: TestHome): Promise<{ file: string; recipient: string }> {
  const key = await newIdentity();
  const file = join(t.root, "key.txt");
  await Deno.writeTextFile(
    file,
    `# created by the test\n# public key: ${key.recipient}\n${key.identity}\n`,
    {
      mode: 0o600,
    },
  );
  return { file, recipient: key.recipient };
}

async function append(cast: string, text: string): Promise<number> {
  const file = await Deno.open(cast, { create: true, append: true, mode: 0o600 });
  try {
    await file.write(encoder.encode(text));
    return (await file.stat()).size;
  } finally {
    file.close();
  }
}

function burst(tag: string, count: number): string {
  let text = "";
  for (let i = 0; i < count; i++) {
    text += JSON.stringify([0.05, "o", `${MARKER} ${tag} ${i} secret=${tag}${i}\r\n`]) + "\n";
  }
  return text;
}

const V3 = JSON.stringify({ version: 3, term: { cols: 80, rows: 24 }, timestamp: 1 }) + "\n";

async function waitDone(t: TestHome, id: string): Promise<void> {
  await waitFor(() => exists(join(t.paths.done, `${id}.cast`)), {
    what: `${id} fully pushed and moved to done/`,
  });
}

async function stop(daemon: DaemonProcess): Promise<void> {
  daemon.kill("SIGTERM");
  await daemon.wait();
}

Deno.test({
  name:
    "acceptance 1: with recipients no byte run of the recording is on the remote; restore --identity and age -d | zstd -d give it back",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome();
    let daemon: DaemonProcess | undefined;
    try {
      const remote = bareRemote(t, "remote.git");
      const key = await keyFileIn(t);
      await writeConfig(t.paths.home, {
        ...FAST_SETTINGS,
        repo_url: remote,
        encryption: { recipients: [key.recipient] },
      });
      await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
      daemon = startDaemon(t.env);
      const cast = join(t.paths.active, "sealed.cast");
      let size = await append(cast, V3 + burst("one", 40));
      await waitFor(async () => {
        const chunks = await remoteChunks(remote, { id: "sealed" });
        return chunks.length > 0 && chunks[chunks.length - 1].end === size;
      }, { what: "the first burst on the remote" });
      size = await append(cast, burst("two", 40));
      await append(cast, JSON.stringify([0.1, "x", "0"]) + "\n");
      await waitDone(t, "sealed");
      const original = await Deno.readFile(join(t.paths.done, "sealed.cast"));

      const chunks = await remoteChunks(remote, { id: "sealed" });
      assert.ok(chunks.length >= 2);
      assert.equal(assertTiling(chunks), original.length);
      const listed = decoder.decode(git(remote, ["ls-tree", "-r", "--name-only", BRANCH]))
        .split("\n").filter(Boolean);
      // Beside the sealed files only the chunks' records: their times (no hash, checked below).
      const records = listed.filter((path) => path.startsWith("recordings/sealed/chunks/"));
      assert.equal(records.length, chunks.length);
      const files = listed.filter((path) => !records.includes(path));
      assert.ok(files.every((path) => path.endsWith(".age")), files.join("\n"));
      assert.ok(files.includes("recordings/sealed/manifest.json.age"));
      for (const record of records) {
        const text = decoder.decode(git(remote, ["cat-file", "blob", `${BRANCH}:${record}`]));
        assert.match(text, /^Cast-Committed: \d+\n$/);
      }

      // Nothing derived from the plaintext: the marker, any line of it, the chunk and
      // whole-file sha256s; no Cast-Sha256 trailer at all.
      const lines = decoder.decode(original).split("\n").filter(Boolean).slice(1, 4);
      const hashes = [
        sha256(original),
        ...chunks.map((chunk) => sha256(original.subarray(chunk.start, chunk.end))),
      ];
      const zstdBlobs = assertAbsentEverywhere(remote, [MARKER, ...lines, ...hashes]);
      assert.equal(zstdBlobs, 0, "no plain zstd blob on the remote");
      const log = decoder.decode(git(remote, ["log", "--format=%B", BRANCH]));
      assert.match(log, /Cast-Range: /);
      assert.doesNotMatch(log, /Cast-Sha256/);

      // Standard tools alone: age -d -i key.txt CHUNK | zstd -d.
      for (const chunk of chunks) {
        const file = join(t.root, `chunk-${chunk.seq}.age`);
        await Deno.writeFile(file, git(remote, ["cat-file", "blob", chunk.blob]));
        assert.deepEqual(
          ageDecryptChunk(key.file, file),
          original.subarray(chunk.start, chunk.end),
        );
      }

      const work = join(t.root, "work");
      await Deno.mkdir(work);
      const restored = await runDaemonCli(
        ["restore", "--repo", remote, "--identity", key.file, "sealed"],
        { env: t.env, cwd: work },
      );
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(restored.stdout, /Complete/);
      assert.deepEqual(await Deno.readFile(join(work, "sealed.cast")), original);
      const verified = await runDaemonCli(["verify", "--repo", remote, "--identity", key.file], {
        env: t.env,
        cwd: work,
      });
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    } finally {
      if (daemon) await stop(daemon);
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "acceptance 3: recipients added mid-recording: plain chunks then encrypted ones, restored byte-identical",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome();
    let daemon: DaemonProcess | undefined;
    try {
      const remote = bareRemote(t, "remote.git");
      const key = await keyFileIn(t);
      await writeConfig(t.paths.home, { ...FAST_SETTINGS, repo_url: remote });
      await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
      daemon = startDaemon(t.env);
      const cast = join(t.paths.active, "mixed.cast");
      const size = await append(cast, V3 + burst("before", 30));
      await waitFor(async () => {
        const chunks = await remoteChunks(remote, { id: "mixed" });
        return chunks.length > 0 && chunks[chunks.length - 1].end === size;
      }, { what: "plain chunks on the remote" });
      await stop(daemon);
      daemon = undefined;

      // Recipients added: the daemon picks them up at its next start; new chunks are sealed.
      await writeConfig(t.paths.home, {
        ...FAST_SETTINGS,
        repo_url: remote,
        encryption: { recipients: [key.recipient] },
      });
      daemon = startDaemon(t.env);
      await append(cast, burst("after", 30));
      await append(cast, JSON.stringify([0.1, "x", "0"]) + "\n");
      await waitDone(t, "mixed");
      const original = await Deno.readFile(join(t.paths.done, "mixed.cast"));

      const chunks = await remoteChunks(remote, { id: "mixed" });
      assert.equal(assertTiling(chunks), original.length);
      const plain = chunks.filter((chunk) => !("encrypted" in chunk));
      const sealed = chunks.filter((chunk) => "encrypted" in chunk);
      assert.ok(plain.length >= 1 && sealed.length >= 1, JSON.stringify(chunks));
      assert.ok(Math.max(...plain.map((c) => c.seq)) < Math.min(...sealed.map((c) => c.seq)));
      const files = decoder.decode(git(remote, ["ls-tree", "-r", "--name-only", BRANCH]));
      assert.match(files, /recordings\/mixed\/manifest\.json\.age/);

      const work = join(t.root, "work");
      await Deno.mkdir(work);
      const restored = await runDaemonCli(
        ["restore", "--repo", remote, "--identity", key.file, "mixed"],
        { env: t.env, cwd: work },
      );
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(await Deno.readFile(join(work, "mixed.cast")), original);
    } finally {
      if (daemon) await stop(daemon);
      await t.cleanup();
    }
  },
});
