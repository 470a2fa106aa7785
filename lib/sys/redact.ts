/**
 * Secret redaction: every secret value the process has loaded, plus GitHub
 * token shapes and age identity shapes wherever they appear (including
 * git's stderr).
 *
 * @module
 */

const secrets = new Set<string>();

/** GitHub token shapes (classic, OAuth, user-to-server, server, refresh, fine-grained). */
const TOKEN_PATTERN = /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})\b/g;

/** age identity shapes (an X25519 secret key, in either case). */
const AGE_KEY_PATTERN = /\bAGE-SECRET-KEY-1[0-9A-Z]{20,}/gi;

/** The text that replaces a secret. */
export const REDACTED = "[REDACTED]";

/** Remembers a secret value so that {@linkcode redact} removes it from any text. */
export function registerSecret(value: string | undefined | null): void {
  if (!value) return;
  const trimmed = value.trim();
  if (trimmed.length >= 4) secrets.add(trimmed);
  // Also the forms a secret takes inside an HTTP header or a JSON string.
  if (trimmed.length >= 4) {
    secrets.add(btoa(`x-access-token:${trimmed}`));
    const json = JSON.stringify(trimmed).slice(1, -1);
    if (json !== trimmed) secrets.add(json);
  }
}

/** Replaces registered secrets, token shapes and age identity shapes in `text`. */
export function redact(text: string): string {
  let out = text;
  // Longest first so that a secret containing another is removed whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out.replace(TOKEN_PATTERN, REDACTED).replace(AGE_KEY_PATTERN, REDACTED);
}
