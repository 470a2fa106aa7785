/**
 * The local web viewer (`daemon.ts serve`): every recording of every known
 * remote in a browser, search that lands on the moment, playback of any
 * size through the player's segmented loading, and live watching of
 * recordings in progress; 127.0.0.1 only, a per-run token, read-only.
 *
 * @module
 */
export * from "./assets.ts";
export * from "./branches.ts";
export * from "./catalog.ts";
export * from "./guard.ts";
export * from "./live.ts";
export * from "./open.ts";
export * from "./player_data.ts";
export * from "./search.ts";
export * from "./segments.ts";
export * from "./server.ts";
export * from "./timeline.ts";
