/**
 * One recording as bootstrap.ts starts it: `active/<id>.json`, recording ids,
 * and the asciinema 2.x/3.x command lines.
 *
 * @module
 */
export * from "./asciinema_cli.ts";
export * from "./config.ts";
export * from "./id.ts";
