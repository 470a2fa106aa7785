/** termSafe: nothing from outside acts on a terminal. */
import assert from "node:assert/strict";
import { termSafe } from "../../../lib/sys/mod.ts";
import { findRawControl, HOSTILE_STRINGS } from "../../support/hostile_text.ts";

Deno.test("termSafe shows every hostile string's controls as escapes", () => {
  for (const { name, text } of HOSTILE_STRINGS) {
    const safe = termSafe(text);
    assert.equal(findRawControl(safe), undefined, name);
    assert.ok(!safe.includes("\n") && !safe.includes("\r"), name);
  }
});

Deno.test("termSafe names the escapes it makes and keeps plain text", () => {
  assert.equal(termSafe("a\x1b[2Jb"), "a\\x1b[2Jb");
  assert.equal(termSafe("id\nok"), "id\\nok");
  assert.equal(termSafe("\u009b2J"), "\\u009b2J");
  assert.equal(termSafe("\u202eabc"), "\\u202eabc");
  assert.equal(termSafe("héllo ✅ 漢字 \\x1b"), "héllo ✅ 漢字 \\x1b");
});

Deno.test("termSafe keeps newlines and tabs only when asked", () => {
  assert.equal(termSafe("a\n\tb", { keepNewlines: true }), "a\n\\tb");
  assert.equal(termSafe("a\n\tb", { keepTabs: true }), "a\\n\tb");
  assert.equal(termSafe("a\r\nb", { keepNewlines: true }), "a\\r\nb");
});
