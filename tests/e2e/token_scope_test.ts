/**
 * The GitHub token goes only to GitHub (issue 23, points 4 and 5): `list
 * --repo` of another host, a recording's `.json` naming another host, and
 * a remote that redirects all reach their servers without the token; a host
 * the person listed in `github_token_hosts` gets it. The loopback servers
 * record every `Authorization` header they receive.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome, type TestHome } from "../support/env.ts";
import { runOnce, writeConfig } from "../support/daemon.ts";
import { type GitHttpServer, startGitHttpServer } from "../support/git_http_server.ts";
import { makeCast, pushRecording, runDaemonCli } from "../support/fake_branch.ts";
import { scanTreeForSecrets, secretForms } from "../support/argv_sampler.ts";

const TOKEN = "ghp_ScopeToken0123456789abcdefABCDEF0123";
const TOOLS = ["git", "zstd"];

interface Rig {
  t: TestHome;
  server: GitHttpServer;
  env: Record<string, string>;
}

async function rig(options: { redirectTo?: string; anonymous?: boolean } = {}): Promise<Rig> {
  const t = await makeTestHome("token-scope-");
  const server = await startGitHttpServer({
    token: TOKEN,
    redirectTo: options.redirectTo,
    anonymous: options.anonymous,
  });
  const env = {
    ...t.env,
    ASCIINEMA_CREDENTIAL_STORE: "env",
    ASCIINEMA_GITHUB_PAT: TOKEN,
  };
  return { t, server, env };
}

async function close(r: Rig) {
  await r.server.stop();
  await r.t.cleanup();
}

/** A branch with one recording in the server's repository `rec`. */
async function seed(r: Rig) {
  const path = await r.server.createRepo("rec");
  await pushRecording(path, { id: "scoped", data: makeCast(20) });
}

function tokenIn(headers: string[]): boolean {
  const forms = secretForms(TOKEN);
  return headers.some((header) => forms.some((form) => header.includes(form)));
}

Deno.test({
  name: "list --repo of a host that is not GitHub never sends the token; github_token_hosts does",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const r = await rig();
    try {
      await seed(r);
      await writeConfig(r.t.paths.home, { credential_store: "env" });
      const url = r.server.repoUrl("rec");
      const anonymous = await runDaemonCli(["list", "--repo", url], { env: r.env, cwd: r.t.root });
      assert.notEqual(anonymous.code, 0, "the server wants credentials it was not given");
      assert.ok(r.server.stats.unauthenticated > 0);
      assert.equal(r.server.stats.authorizations.length, 0, "no Authorization header at all");
      assert.match(anonymous.stderr + anonymous.stdout, /github_token_hosts/);

      await writeConfig(r.t.paths.home, {
        credential_store: "env",
        github_token_hosts: ["127.0.0.1"],
      });
      const allowed = await runDaemonCli(["list", "--repo", url], { env: r.env, cwd: r.t.root });
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.match(allowed.stdout, /scoped/);
      assert.ok(tokenIn(r.server.stats.authorizations), "the listed host gets the token");
    } finally {
      await close(r);
    }
  },
});

Deno.test({
  name: "a recording whose .json names another host is pushed without the token",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const r = await rig();
    try {
      await r.server.createRepo("rec");
      await writeConfig(r.t.paths.home, { credential_store: "env", idle_threshold: 0.1 });
      await Deno.mkdir(r.t.paths.active, { recursive: true });
      await Deno.writeTextFile(
        join(r.t.paths.active, "other-host.cast"),
        new TextDecoder().decode(makeCast(10)),
      );
      await Deno.writeTextFile(
        join(r.t.paths.active, "other-host.json"),
        JSON.stringify({ repo_url: r.server.repoUrl("rec"), ended: true }),
      );
      const once = await runOnce(r.env);
      assert.notEqual(once.code, 0, "the push cannot succeed without credentials");
      assert.ok(r.server.stats.unauthenticated > 0, "the daemon did try the remote");
      assert.equal(r.server.stats.authorizations.length, 0, "and never sent a header");
    } finally {
      await close(r);
    }
  },
});

Deno.test({
  name: "a remote that redirects never carries the token to the redirect's target",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    // The target serves anyone (git would go on to POST there after the redirect).
    const target = await rig({ anonymous: true });
    const front = await rig({ redirectTo: target.server.url });
    try {
      await seed(target);
      await writeConfig(front.t.paths.home, {
        credential_store: "env",
        github_token_hosts: [`127.0.0.1:${front.server.port}`],
      });
      const url = front.server.repoUrl("rec");
      const listed = await runDaemonCli(["list", "--repo", url], {
        env: front.env,
        cwd: front.t.root,
      });
      assert.ok(front.server.stats.redirected > 0, "the front answered with a redirect");
      assert.ok(tokenIn(front.server.stats.authorizations) || listed.code !== 0);
      assert.equal(
        target.server.stats.authorizations.length,
        0,
        "the redirect's target never sees an Authorization header",
      );
      assert.notEqual(listed.code, 0, "a redirect is not followed");
    } finally {
      await close(front);
      await close(target);
    }
  },
});

Deno.test({
  name:
    "a token pasted into repo_url is written nowhere: not the checkpoint, the clone, health or the log",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const r = await rig();
    try {
      await r.server.createRepo("rec");
      const pasted = "ghp_PastedIntoUrl0123456789abcdefABCDEF0";
      const url = r.server.repoUrl("rec").replace("http://", `http://someone:${pasted}@`);
      await writeConfig(r.t.paths.home, {
        credential_store: "env",
        github_token_hosts: ["127.0.0.1"],
        repo_url: url,
        idle_threshold: 0.1,
      });
      await Deno.mkdir(r.t.paths.active, { recursive: true });
      await Deno.writeFile(join(r.t.paths.active, "pasted.cast"), makeCast(6));
      await Deno.writeTextFile(
        join(r.t.paths.active, "pasted.json"),
        JSON.stringify({ ended: true }),
      );
      const once = await runOnce(r.env);
      assert.equal(once.code, 0, once.stderr);
      assert.ok(r.server.stats.receivePacks > 0, "pushed with the stored token");
      const homeFiles = await scanTreeForSecrets(r.t.paths.home, secretForms(pasted));
      const withoutConfig = homeFiles.filter((path) => !path.endsWith("config.json"));
      assert.deepEqual(withoutConfig, [], "only config.json, where the person put it, holds it");
    } finally {
      await close(r);
    }
  },
});
