/**
 * A HOME whose git setup would hijack or break any push made by "plain" git:
 * for tests that prove the daemon's git is hermetic (DESIGN.md invariant 5).
 *
 * @module
 */
import { join } from "node:path";

async function write(path: string, content: string, mode = 0o644) {
  await Deno.writeTextFile(path, content);
  await Deno.chmod(path, mode);
}

/**
 * A HOME whose git setup would hijack or break any push: a credential
 * helper returning another user's credentials, insteadOf rewriting the
 * remote to a dead SSH port, commit signing with a failing gpg, and global
 * hooks that fail. Each trap touches a file in `<root>/traps` when it runs.
 * The config goes to both `~/.gitconfig` and `~/.config/git/config`;
 * `options.home` picks the HOME (default `<root>/hostile-home`).
 */
export async function hostileHome(
  root: string,
  serverUrl: string,
  options: { home?: string } = {},
): Promise<{ home: string; traps: string }> {
  const home = options.home ?? join(root, "hostile-home");
  const bin = join(home, "bin");
  const hooks = join(home, "hooks");
  const traps = join(root, "traps");
  await Deno.mkdir(bin, { recursive: true });
  await Deno.mkdir(hooks, { recursive: true });
  await Deno.mkdir(traps, { recursive: true });
  await Deno.mkdir(join(home, ".config", "git"), { recursive: true });
  await write(
    join(bin, "cred-helper"),
    `#!/bin/sh\ntouch '${traps}/credential-helper'\n` +
      `if [ "$1" = get ]; then echo username=other-user; echo password=other-users-password; fi\n`,
    0o755,
  );
  await write(join(bin, "fake-gpg"), `#!/bin/sh\ntouch '${traps}/gpg'\nexit 1\n`, 0o755);
  for (const hook of ["pre-push", "pre-commit", "commit-msg", "post-commit"]) {
    await write(join(hooks, hook), `#!/bin/sh\ntouch '${traps}/${hook}'\nexit 1\n`, 0o755);
  }
  const config = `[credential]
\thelper = ${bin}/cred-helper
[url "ssh://git@127.0.0.1:1/"]
\tinsteadOf = ${serverUrl}/
\tpushInsteadOf = ${serverUrl}/
[commit]
\tgpgsign = true
[gpg]
\tprogram = ${bin}/fake-gpg
[core]
\thooksPath = ${hooks}
[user]
\tname = Someone Else
\temail = someone@else.example
`;
  await write(join(home, ".gitconfig"), config);
  await write(join(home, ".config", "git", "config"), config);
  return { home, traps };
}
