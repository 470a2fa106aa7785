/**
 * The page and the player, served by the viewer itself (no CDN, nothing
 * from the network at run time): the page's HTML, CSS and ES modules
 * (lib/web/page/, no build step) and asciinema-player's bundle and
 * stylesheet from its npm package. All are imported as text, so they are
 * part of the module graph: `deno cache` fetches them with the code and
 * `deno compile` embeds them in the binary like any module.
 *
 * @module
 */
import indexHtml from "./page/index.html" with { type: "text" };
import styleCss from "./page/style.css" with { type: "text" };
import appJs from "./page/app.js" with { type: "text" };
import domJs from "./page/dom.js" with { type: "text" };
import playerJs from "./page/player.js" with { type: "text" };
import bundleJs from "asciinema-player/dist/bundle/asciinema-player.min.js" with { type: "text" };
import bundleCss from "asciinema-player/dist/bundle/asciinema-player.css" with { type: "text" };

/** A file the viewer serves. */
export interface Asset {
  /** Its `Content-Type`. */
  type: string;
  /** Its text. */
  body: string;
}

const HTML = "text/html; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const JS = "text/javascript; charset=utf-8";

const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/", { type: HTML, body: indexHtml }],
  ["/assets/style.css", { type: CSS, body: styleCss }],
  ["/assets/app.js", { type: JS, body: appJs }],
  ["/assets/dom.js", { type: JS, body: domJs }],
  ["/assets/player.js", { type: JS, body: playerJs }],
  ["/assets/asciinema-player.min.js", { type: JS, body: bundleJs }],
  ["/assets/asciinema-player.css", { type: CSS, body: bundleCss }],
]);

/** The asset at `path`, if there is one. */
export function assetFor(path: string): Asset | undefined {
  return ASSETS.get(path);
}
