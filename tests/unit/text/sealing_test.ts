/** How a derived payload (a text index) is sealed: to its recording's recipients, else the local ones, else refused. */
import assert from "node:assert/strict";
import { sealingFor } from "../../../lib/text/mod.ts";

Deno.test("sealingFor: an encrypted recording's payload is sealed to its own recipients, else a local one, else refused", () => {
  const own = sealingFor({ encrypted: true, recipients: ["age1own"] }, { recipients: [] });
  assert.ok("codec" in own && own.codec.suffix === ".age");
  const local = sealingFor({ encrypted: true }, { recipients: ["age1local"] });
  assert.ok("codec" in local && local.codec.suffix === ".age");
  const identity = sealingFor({ encrypted: true }, { identityRecipients: ["age1id"] });
  assert.ok("codec" in identity && identity.codec.suffix === ".age");
  const refused = sealingFor({ encrypted: true }, {});
  assert.ok("refuse" in refused && /never written in clear/.test(refused.refuse));
  const plain = sealingFor({ encrypted: false }, {});
  assert.ok("codec" in plain && plain.codec.suffix === "");
  const sealedPlain = sealingFor({ encrypted: false }, { recipients: ["age1local"] });
  assert.ok("codec" in sealedPlain && sealedPlain.codec.suffix === ".age");
});
