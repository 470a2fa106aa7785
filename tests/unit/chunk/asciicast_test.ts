/** The header check that tells a recording from any other file (v1, v2, v3, binary, incomplete). */
import assert from "node:assert/strict";
import { checkHeaderBytes } from "../../../lib/chunk/mod.ts";
import { v1Cast } from "../../support/casts.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("v2 and v3 headers are recordings; an empty file or a header without its newline waits", () => {
  assert.deepEqual(checkHeaderBytes(bytes('{"version": 2, "width": 80}\n[0.5, "o", "x"]\n')), {
    kind: "ok",
    version: 2,
    header: { version: 2, width: 80 },
  });
  assert.equal(checkHeaderBytes(bytes('{"version": 3, "term": {}}\n')).kind, "ok");
  assert.deepEqual(checkHeaderBytes(new Uint8Array()), { kind: "empty" });
  assert.deepEqual(checkHeaderBytes(bytes('{"version": 2, "wid')), { kind: "incomplete" });
  // Output that mentions v1's words inside a v2 recording is still v2.
  const v2 = '{"version": 2}\n[1, "o", "{\\"stdout\\": [1]}"]\n';
  assert.equal((checkHeaderBytes(bytes(v2)) as { version: number }).version, 2);
});

Deno.test("asciicast v1 (one JSON document, indented or on one line, with or without a newline) is a recording", () => {
  const indented = v1Cast([[0.5, "hello\r\n"]]);
  assert.deepEqual(checkHeaderBytes(bytes(indented)), { kind: "ok", version: 1, header: {} });
  const oneLine = JSON.stringify(JSON.parse(indented));
  assert.equal((checkHeaderBytes(bytes(oneLine)) as { version: number }).version, 1);
  assert.equal((checkHeaderBytes(bytes(oneLine + "\n")) as { version: number }).version, 1);
});

Deno.test("binary content and other text say why they are not recordings", () => {
  assert.deepEqual(checkHeaderBytes(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2])), {
    kind: "invalid",
    reason: "binary content (NUL bytes), not text",
  });
  assert.deepEqual(checkHeaderBytes(new Uint8Array([0xff, 0xfe, 0x41, 0x0a])), {
    kind: "invalid",
    reason: "binary content (not UTF-8 text)",
  });
  // A character cut at the end of what was read is not "binary".
  assert.deepEqual(checkHeaderBytes(bytes('{"version": 2, "title": "é').subarray(0, 27)), {
    kind: "incomplete",
  });
  assert.match(
    (checkHeaderBytes(bytes("hello\n")) as { reason: string }).reason,
    /not a JSON asciicast header/,
  );
  assert.match(
    (checkHeaderBytes(bytes('{"version": 5}\n')) as { reason: string }).reason,
    /unsupported asciicast version 5 \(1, 2 and 3 are supported\)/,
  );
});
