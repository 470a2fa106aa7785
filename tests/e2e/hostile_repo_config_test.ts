/**
 * Reading a repository never runs its configuration (issue 23, point 3): a
 * local backup repository (a USB disk, a synced folder somebody else can
 * write) is read in place, so its own `config` is in effect. Every key that
 * makes git run a program points at a trap here, and the newest commit is
 * "signed" so that `log.showSignature` would ask `gpg.program`; `list`,
 * `verify`, `restore`, `search` and `text` read it and no trap fires.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome } from "../support/env.ts";
import { initBare, makeCast, pushRecording, runDaemonCli } from "../support/fake_branch.ts";

const TOOLS = ["git", "zstd"];

const GIT_ENV = { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };

function plainGit(args: string[], gitDir: string): string {
  const result = new Deno.Command("git", { args, env: { ...GIT_ENV, GIT_DIR: gitDir } })
    .outputSync();
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
  return new TextDecoder().decode(result.stdout).trim();
}

async function plainGitInput(args: string[], gitDir: string, stdin: string): Promise<string> {
  const child = new Deno.Command("git", {
    args,
    env: { ...GIT_ENV, GIT_DIR: gitDir },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const result = await child.output();
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
  return new TextDecoder().decode(result.stdout).trim();
}

/** Rewrites the branch tip as a commit with a (fake) `gpgsig` header. */
async function signTip(gitDir: string, branch: string): Promise<void> {
  const ref = `refs/heads/${branch}`;
  const tip = plainGit(["rev-parse", ref], gitDir);
  const body = plainGit(["cat-file", "commit", tip], gitDir);
  const split = body.indexOf("\n\n");
  const signature = "-----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n " +
    "-----END PGP SIGNATURE-----";
  const signed = `${body.slice(0, split)}\ngpgsig ${signature}${body.slice(split)}\n`;
  const commit = await plainGitInput(
    ["hash-object", "-t", "commit", "-w", "--stdin"],
    gitDir,
    signed,
  );
  plainGit(["update-ref", ref, commit], gitDir);
}

Deno.test({
  name: "a local repository's own config never runs a program while it is read",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome("hostile-config-");
    try {
      const repo = join(t.root, "usb-backup.git");
      await initBare(repo);
      const cast = makeCast(40);
      // No manifest: the signed tip is a chunk commit, which every reader looks at.
      await pushRecording(repo, { id: "rec", data: cast });
      await signTip(repo, "asciinema-recordings");
      const traps = join(t.root, "traps");
      await Deno.mkdir(traps);
      const trap = join(t.root, "trap.sh");
      await Deno.writeTextFile(trap, `#!/bin/sh\ntouch "${traps}/$(basename "$0")-$$"\nexit 1\n`);
      await Deno.chmod(trap, 0o755);
      const settings: [string, string][] = [
        ["log.showSignature", "true"],
        ["gpg.program", trap],
        ["gpg.openpgp.program", trap],
        ["gpg.x509.program", trap],
        ["gpg.ssh.program", trap],
        ["core.fsmonitor", trap],
        ["core.pager", trap],
        ["pager.log", trap],
        ["core.sshCommand", trap],
        ["core.gitProxy", trap],
        ["core.alternateRefsCommand", trap],
        ["core.editor", trap],
        ["diff.external", trap],
        ["uploadpack.packObjectsHook", trap],
        ["credential.helper", `!${trap}`],
        ["core.askPass", trap],
        ["core.hooksPath", traps],
      ];
      for (const [key, value] of settings) plainGit(["config", key, value], repo);
      // Sanity: plain git in this repository does run the trap.
      const env = { ...GIT_ENV, GIT_DIR: repo };
      new Deno.Command("git", {
        args: ["log", "-1", "asciinema-recordings"],
        env,
        stdout: "null",
        stderr: "null",
      })
        .outputSync();
      assert.ok([...Deno.readDirSync(traps)].length > 0, "the trap works for plain git");
      for (const entry of [...Deno.readDirSync(traps)]) Deno.removeSync(join(traps, entry.name));

      const out = join(t.root, "out");
      await Deno.mkdir(out);
      const runs = [
        ["list", "--repo", repo],
        ["verify", "--repo", repo, "rec"],
        ["restore", "--repo", repo, "rec", "-o", join(out, "rec.cast")],
        ["search", "--repo", repo, "line"],
        ["text", "--repo", repo, "rec"],
      ];
      for (const args of runs) {
        const result = await runDaemonCli(args, { env: t.env, cwd: t.root });
        assert.equal(result.code, 0, `${args[0]}: ${result.stderr}`);
        const fired = [...Deno.readDirSync(traps)].map((entry) => entry.name);
        assert.deepEqual(fired, [], `${args[0]} ran the repository's program`);
      }
      assert.deepEqual(await Deno.readFile(join(out, "rec.cast")), cast);
    } finally {
      await t.cleanup();
    }
  },
});
