/**
 * The unattended run's answers (`--yes`, or standard input not a terminal):
 * every answer is known, or reported missing with the flag that gives it,
 * before anything slow runs.
 *
 * @module
 */
import { displayUrl } from "../git/mod.ts";
import { GITHUB_PAT } from "../credentials/mod.ts";
import { DEFAULT_BRANCH, registerSecret } from "../sys/mod.ts";
import {
  checkBranch,
  checkHttpUrl,
  checkNtfyUrl,
  checkRepoUrl,
  EXIT_USAGE,
  MissingAnswerError,
  requireValid,
  SetupError,
} from "./answers.ts";
import {
  configString,
  firstLine,
  needsToken,
  normalizeRepo,
  type SetupPlan,
  type SetupRun,
  storedSecret,
} from "./context.ts";
import { chunkingFromFlags } from "./steps/chunking.ts";
import {
  IdentityError,
  isX25519Recipient,
  parseIdentityFile,
  recipientOf,
  recipientShown,
} from "../crypto/mod.ts";

/**
 * `--age-recipient` (repeatable) and `--age-identity-stdin`: the recipients
 * to encrypt to (undefined: keep config.json's) and an identity to store.
 */
async function encryptionAnswers(
  run: SetupRun,
): Promise<{ recipients?: string[]; ageIdentity?: string }> {
  const recipients = [...(run.flags.ageRecipient ?? [])];
  for (const recipient of recipients) {
    if (!isX25519Recipient(recipient)) {
      throw new SetupError(
        `--age-recipient: ${recipientShown(recipient)} is not an age X25519 recipient (age1…, ` +
          "62 characters; `age-keygen -y key.txt` prints yours)",
        EXIT_USAGE,
      );
    }
  }
  let ageIdentity: string | undefined;
  if (run.flags.ageIdentityStdin) {
    if (run.ctx.io.stdinIsTerminal) {
      throw new SetupError(
        "--age-identity-stdin reads the identity from a pipe (`setup.ts --age-identity-stdin " +
          "< key.txt`)",
        EXIT_USAGE,
      );
    }
    const text = await (run.ctx.io.readStdinText ?? run.ctx.io.readStdin)();
    let identities: string[];
    try {
      identities = parseIdentityFile(text, "standard input");
    } catch (error) {
      if (!(error instanceof IdentityError)) throw error;
      throw new MissingAnswerError("--age-identity-stdin", `an age identity (${error.message})`);
    }
    if (identities.length !== 1) {
      throw new SetupError(
        `--age-identity-stdin: standard input holds ${identities.length} identities; give one`,
        EXIT_USAGE,
      );
    }
    ageIdentity = identities[0];
    const own = await recipientOf(ageIdentity);
    if (!recipients.includes(own)) recipients.push(own);
    if (run.store.readOnly) {
      throw new SetupError(
        `the credential store is ${run.store.kind} (read-only), so the identity cannot be ` +
          "stored: keep it in a file for `restore --identity`, and pass its recipient with " +
          "--age-recipient instead",
        EXIT_USAGE,
      );
    }
  }
  return recipients.length ? { recipients, ageIdentity } : {};
}

async function readPatFromStdin(run: SetupRun): Promise<string> {
  if (run.ctx.io.stdinIsTerminal) {
    throw new SetupError(
      "--pat-stdin reads the token from a pipe (`... | setup.ts --pat-stdin`); in a terminal, " +
        "leave --yes and --pat-stdin out and setup asks for it (masked)",
      EXIT_USAGE,
    );
  }
  const token = firstLine(await run.ctx.io.readStdin());
  if (!token) throw new MissingAnswerError("--pat-stdin", "a GitHub token on standard input");
  registerSecret(token);
  return token;
}

export async function unattendedAnswers(run: SetupRun): Promise<SetupPlan> {
  const { flags, config, env } = run;
  const repoGiven = flags.repo ?? configString(config, "repo_url");
  if (!repoGiven) {
    throw new MissingAnswerError("--repo URL", "the repository to back the recordings up to");
  }
  requireValid("--repo", checkRepoUrl(repoGiven));
  const repoUrl = normalizeRepo(repoGiven);
  const branch = flags.branch ?? configString(config, "branch") ?? DEFAULT_BRANCH;
  requireValid("--branch", checkBranch(branch));
  const { idle, zstd } = chunkingFromFlags(flags, config);
  if (flags.ntfy !== undefined) requireValid("--ntfy", checkNtfyUrl(flags.ntfy));
  if (flags.pushoverApi !== undefined) {
    requireValid("--pushover-api", checkHttpUrl(flags.pushoverApi));
  }
  const fresh = flags.fresh === true;
  const encryption = await encryptionAnswers(run);

  let token: string | undefined;
  let storeToken = false;
  if (needsToken(repoUrl)) {
    if (flags.patStdin) {
      token = await readPatFromStdin(run);
      storeToken = true;
    } else if (env.get("ASCIINEMA_GITHUB_PAT")?.trim()) {
      token = env.get("ASCIINEMA_GITHUB_PAT")!.trim();
      registerSecret(token);
      storeToken = !run.store.readOnly;
    } else if (!fresh) {
      token = await storedSecret(run, GITHUB_PAT);
    }
    if (!token) {
      throw new MissingAnswerError(
        "--pat-stdin (or set ASCIINEMA_GITHUB_PAT)",
        `a GitHub token for ${displayUrl(repoUrl)}`,
      );
    }
    if (storeToken && run.store.readOnly) {
      throw new SetupError(
        `the credential store is ${run.store.kind} (read-only), so the token cannot be stored: ` +
          `set ASCIINEMA_GITHUB_PAT in the daemon's environment instead, or use a keyring ` +
          `(credential_store auto, keychain or secret-service)`,
        EXIT_USAGE,
      );
    }
  }

  let pushover = flags.pushover !== false;
  let pushoverSecrets: SetupPlan["pushoverSecrets"];
  if (pushover) {
    const app = env.get("ASCIINEMA_PUSHOVER_APP")?.trim();
    const user = env.get("ASCIINEMA_PUSHOVER_USER")?.trim();
    if (app && !user) {
      throw new MissingAnswerError("ASCIINEMA_PUSHOVER_USER", "the Pushover user key");
    }
    if (user && !app) {
      throw new MissingAnswerError("ASCIINEMA_PUSHOVER_APP", "the Pushover app token");
    }
    if (app && user) {
      registerSecret(app);
      registerSecret(user);
      if (!run.store.readOnly) pushoverSecrets = { app, user };
    } else if (fresh) {
      pushover = false;
    }
  }
  return {
    fresh,
    repoUrl,
    branch,
    token,
    storeToken,
    pushover,
    pushoverSecrets,
    pushoverApi: flags.pushoverApi,
    ntfyUrl: flags.ntfy,
    idle,
    zstd,
    ...encryption,
  };
}
