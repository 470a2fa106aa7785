/**
 * The local web viewer (`daemon.ts serve`): every recording of every known
 * remote in a browser, search that lands on the moment, playback of any
 * size through the player's segmented loading, and live watching of
 * recordings in progress; 127.0.0.1 only, a per-run token, read-only.
 *
 * @module
 */

export { ViewerBranches } from "./branches.ts";
export { workspaceOf } from "./catalog.ts";
export {
  allowedHosts,
  CONTENT_SECURITY_POLICY,
  cookieName,
  cookieValue,
  isLoopback,
  judgeRequest,
  loginCookie,
  newToken,
  type RequestFacts,
  securityHeaders,
  type Verdict,
} from "./guard.ts";
export { followStart } from "./live.ts";
export { openInBrowser, redirectPage } from "./open.ts";
export { readRange } from "./player_data.ts";
export { MAX_MATCHES, webSearch } from "./search.ts";
export { buildIndex, buildSegment, seconds, segmentStarts, WINDOW_BYTES } from "./segments.ts";
export { startViewer, type Viewer } from "./server.ts";
export { readLineHead, TimeScanner } from "./timeline.ts";
