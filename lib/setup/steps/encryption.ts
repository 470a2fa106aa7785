/**
 * Step 5, encryption (recommended): chunks are encrypted with age before
 * they leave the machine. Setup can create a key (an age identity): it is
 * shown once, to be kept in a password manager — it is the only way to read
 * the recordings back — and stored in the credential store (service
 * `asciinema-age-identity`) for `restore` on this machine; only its public
 * recipient goes into config.json. Or chunks go to an age recipient the
 * person already has (`age1…`), or stay plain zstd. Unattended:
 * `--age-recipient age1…` (repeatable) and `--age-identity-stdin`.
 *
 * @module
 */
import { displayUrl } from "../../git/mod.ts";
import { AGE_IDENTITY, isX25519Recipient, newIdentity, recipientShown } from "../../crypto/mod.ts";
import type { Draft, SetupRun } from "../context.ts";

/** The recipients config.json already encrypts to. */
function configuredRecipients(config: Record<string, unknown>): string[] {
  const encryption = config.encryption as { recipients?: unknown } | undefined;
  const recipients = encryption?.recipients;
  return Array.isArray(recipients)
    ? recipients.filter((r): r is string => typeof r === "string")
    : [];
}

/** Validates one or more recipients typed in (comma or space separated): true or the problem. */
export function checkRecipients(value: string): true | string {
  const list = value.split(/[\s,]+/).filter(Boolean);
  if (list.length === 0) return "paste an age public key (age1…)";
  const bad = list.find((recipient) => !isX25519Recipient(recipient));
  return bad
    ? `${recipientShown(bad)} is not an age X25519 recipient (age1…, 62 characters)`
    : true;
}

function publicWarning(run: SetupRun, draft: Draft): void {
  if (draft.visibility !== "public") return;
  run.say(
    `! ${displayUrl(draft.repoUrl ?? "")} is a PUBLIC repository: without encryption the daemon ` +
      `refuses to push recordings there (set "allow_public": true in config.json to publish ` +
      "them anyway).",
  );
}

/** The new key, shown once with what it is for; the person confirms it is saved. */
async function showKeyOnce(run: SetupRun, identity: string, recipient: string): Promise<void> {
  const prompter = run.prompter!;
  run.say("");
  run.say("Your recordings key (an age identity). It is shown this once:");
  run.say("");
  // The one place a secret is printed, on purpose: everything else is redacted.
  run.ctx.io.say(`    ${identity}`);
  run.say("");
  run.say("Keep it in your password manager now. It is the only way to read the recordings:");
  run.say("if you lose it, the recordings are lost. Nobody can recover them, not even you.");
  run.say(`(Its public key, which the daemon encrypts to: ${recipient})`);
  while (!(await prompter.confirm("Have you saved the key in your password manager?", false))) {
    run.say("Setup goes on once the key is saved (Ctrl-C cancels setup; nothing is changed).");
  }
}

/** Step 5: unattended, tells what the flags gave; interactive, asks. */
export async function encryptionStep(run: SetupRun, draft: Draft): Promise<void> {
  const configured = configuredRecipients(run.config);
  const prompter = run.prompter;
  if (!prompter) {
    if (draft.recipients?.length) {
      run.say(`✔ Chunks are encrypted with age to ${draft.recipients.length} recipient(s).`);
      if (draft.ageIdentity) {
        run.say(`  The identity from standard input goes into the credential store.`);
      }
    } else if (configured.length) {
      run.say(`✔ Encryption stays on (${configured.length} recipient(s) in config.json).`);
    } else {
      run.say(
        "Encryption is off. Recommended: pass --age-recipient age1… (your age public key) or " +
          "--age-identity-stdin.",
      );
      publicWarning(run, draft);
    }
    return;
  }
  if (configured.length) {
    const keep = await prompter.confirm(
      `Chunks are encrypted to ${configured.length} age recipient(s). Keep encrypting to them?`,
      true,
    );
    if (keep) return;
  }
  run.say("Encryption keeps the recordings unreadable on the remote: GitHub, the repository's");
  run.say("collaborators and a leaked token see only ciphertext. The daemon needs only a public");
  run.say("key; the key that decrypts stays with you.");
  const choice = await prompter.select("Encrypt recordings before they leave this machine?", [
    {
      name: "Yes, with a new key (recommended)",
      value: "generate" as const,
      description: "setup creates an age key, shows it once and stores it in your keyring",
    },
    {
      name: "Yes, to an age public key I already have (age1…)",
      value: "recipient" as const,
    },
    { name: "No, push plain zstd", value: "none" as const },
  ], "generate");
  if (choice === "generate") {
    const { identity, recipient } = await newIdentity();
    await showKeyOnce(run, identity, recipient);
    draft.recipients = [recipient];
    draft.ageIdentity = identity;
    if (run.store.readOnly) {
      run.say(
        `! The credential store is ${run.store.kind} (read-only): the key is not stored; ` +
          `restore with --identity FILE, or set ASCIINEMA_AGE_IDENTITY.`,
      );
    }
    return;
  }
  if (choice === "recipient") {
    const value = await prompter.input("age public key(s), comma separated (age1…):", {
      validate: checkRecipients,
    });
    draft.recipients = value.split(/[\s,]+/).filter(Boolean);
    run.say(`✔ Chunks will be encrypted to ${draft.recipients.length} recipient(s).`);
    return;
  }
  draft.recipients = configured.length ? null : undefined;
  publicWarning(run, draft);
}

/** The summary line of the encryption plan. */
export function encryptionSummary(run: SetupRun, draft: Draft): string {
  const configured = configuredRecipients(run.config);
  if (draft.recipients === null || (draft.recipients === undefined && !configured.length)) {
    return "off (chunks are plain zstd)";
  }
  const count = draft.recipients?.length ?? configured.length;
  const key = draft.ageIdentity
    ? run.store.readOnly
      ? "; new key: keep the copy you saved"
      : `; new key stored in the ${run.store.kind} credential store (${AGE_IDENTITY})`
    : "";
  return `age, ${count} recipient(s)${key}`;
}
