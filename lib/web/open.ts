/**
 * `serve --open`: the person's browser opens the viewer without the token
 * ever being a command-line argument (other users of the machine can read
 * those): the opener gets a private file (0600, in the viewer's 0700
 * folder) whose only content sends the browser on to the URL.
 *
 * @module
 */
import { join } from "node:path";
import { errorMessage, run } from "../sys/mod.ts";

/** The page that sends the browser on to `url` (the URL is the viewer's own, escaped anyway). */
export function redirectPage(url: string): string {
  const escaped = url.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
    `<meta http-equiv="refresh" content="0; url=${escaped}"><title>asciinema-chunker</title>\n`;
}

/** The command that opens a file with the desktop's browser here. */
export function openerFor(os: string = Deno.build.os): string {
  return os === "darwin" ? "open" : os === "windows" ? "explorer" : "xdg-open";
}

/**
 * Opens `url` in the browser through a private redirect file in `dir`;
 * resolves to an error message, or undefined when the opener ran.
 */
export async function openInBrowser(url: string, dir: string): Promise<string | undefined> {
  const file = join(dir, "open.html");
  await Deno.writeTextFile(file, redirectPage(url), { mode: 0o600 });
  const opener = openerFor();
  try {
    const result = await run(opener, { args: [file], timeoutMs: 15_000 });
    return result.success ? undefined : `${opener} failed: ${result.stderr.trim() || result.code}`;
  } catch (error) {
    return `${opener} could not run: ${errorMessage(error)}`;
  }
}
