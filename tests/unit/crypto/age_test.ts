/** age encryption and the identity look-up (lib/crypto/). */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  AGE_IDENTITY_ENV,
  decryptBytes,
  DecryptError,
  decryptStream,
  encryptBytes,
  encryptStream,
  Identities,
  IdentityError,
  isX25519Recipient,
  keyFromEnvValue,
  MAX_AGE_HEADER_BYTES,
  MAX_AGE_STANZAS,
  newIdentity,
  parseIdentityFile,
  recipientOf,
  recipientShown,
  scanAgeHeader,
} from "../../../lib/crypto/mod.ts";
import { checkRecipients } from "../../../lib/setup/steps/encryption.ts";
import { redact } from "../../../lib/sys/mod.ts";
import { makeTestHome } from "../../support/env.ts";

const encoder = new TextEncoder();

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

async function collect(blocks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const block of blocks) parts.push(block.slice());
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

Deno.test("a stream encrypted to two recipients decrypts with either identity, not a third", async () => {
  const alice = await newIdentity();
  const team = await newIdentity();
  const other = await newIdentity();
  assert.equal(await recipientOf(alice.identity), alice.recipient);
  assert.ok(isX25519Recipient(alice.recipient));
  const plain = encoder.encode("secret ".repeat(30_000)); // several 64 KiB age chunks
  const sealed = await collect(
    await encryptStream(streamOf(plain), [alice.recipient, team.recipient]),
  );
  assert.equal(new TextDecoder().decode(sealed.subarray(0, 22)), "age-encryption.org/v1\n");
  assert.ok(!new TextDecoder().decode(sealed).includes("secret"));
  for (const who of [alice, team]) {
    assert.deepEqual(
      await collect(decryptStream(streamOf(sealed), [who.identity])),
      plain,
    );
  }
  await assert.rejects(
    collect(decryptStream(streamOf(sealed), [other.identity])),
    (error) => error instanceof DecryptError && error.kind === "no-match",
  );
  const damaged = sealed.slice();
  damaged[damaged.length - 10] ^= 1;
  await assert.rejects(
    collect(decryptStream(streamOf(damaged), [alice.identity])),
    (error) => error instanceof DecryptError && error.kind === "corrupt",
  );
  const small = await encryptBytes(encoder.encode("{}"), [alice.recipient]);
  assert.deepEqual(await decryptBytes(small, [alice.identity]), encoder.encode("{}"));
  await assert.rejects(
    decryptBytes(small, [other.identity]),
    (error) => error instanceof DecryptError && error.kind === "no-match",
  );
});

Deno.test("recipients are X25519 age1… with a valid checksum", async () => {
  const { recipient } = await newIdentity();
  assert.ok(isX25519Recipient(recipient));
  const flipped = recipient.slice(0, -1) + (recipient.endsWith("q") ? "p" : "q");
  assert.equal(isX25519Recipient(flipped), false);
  assert.equal(isX25519Recipient("age1pq1abc"), false);
  assert.equal(isX25519Recipient("ssh-ed25519 AAAA"), false);
});

Deno.test("identity files: comments and blank lines skipped; a bad line is named, never shown", async () => {
  const { identity } = await newIdentity();
  const text = `# created: 2024-01-01\n# public key: age1…\n\n${identity}\n`;
  assert.deepEqual(parseIdentityFile(text, "key.txt"), [identity]);
  const bad = `# comment\n${identity.slice(0, -2)}ZZ\n`;
  assert.throws(() => parseIdentityFile(bad, "key.txt"), (error: Error) => {
    assert.ok(error instanceof IdentityError);
    assert.match(error.message, /key\.txt, line 2/);
    assert.ok(!error.message.includes(identity.slice(16, 40)), "the key is not in the message");
    return true;
  });
  assert.throws(() => parseIdentityFile("# nothing\n", "empty.txt"), /holds no identity/);
});

Deno.test("identities: --identity, then ASCIINEMA_AGE_IDENTITY (key or file), then the store; none names --identity", async () => {
  const t = await makeTestHome();
  try {
    const [one, two, three] = [await newIdentity(), await newIdentity(), await newIdentity()];
    const file = join(t.root, "key.txt");
    await Deno.writeTextFile(file, `# mine\n${one.identity}\n`);
    let asked = 0;
    const stored = () => {
      asked++;
      return Promise.resolve(three.identity);
    };
    const env = (value?: string) => ({
      get: (key: string) => key === AGE_IDENTITY_ENV ? value : undefined,
    });
    assert.deepEqual(
      await new Identities({ file, env: env(two.identity), stored }).get(),
      [one.identity],
    );
    assert.deepEqual(await new Identities({ env: env(two.identity), stored }).get(), [
      two.identity,
    ]);
    assert.deepEqual(await new Identities({ env: env(file), stored }).get(), [one.identity]);
    assert.equal(asked, 0, "the store is not asked while something else gives an identity");
    const fromStore = new Identities({ env: env(), stored });
    assert.deepEqual(await fromStore.get(), [three.identity]);
    await fromStore.get();
    assert.equal(asked, 1, "asked once, then kept");
    const none = new Identities({ env: env(), stored: () => Promise.resolve(undefined) });
    await assert.rejects(none.get(), (error: Error) => {
      assert.ok(error instanceof IdentityError && error.kind === "missing");
      assert.match(error.message, /--identity FILE/);
      assert.match(error.message, /ASCIINEMA_AGE_IDENTITY/);
      return true;
    });
    const locked = new Identities({
      env: env(),
      stored: () => Promise.reject(new Error("keyring locked")),
    });
    await assert.rejects(locked.get(), /could not be asked: keyring locked.*--identity/);
    await assert.rejects(
      new Identities({ file: join(t.root, "absent.txt") }).get(),
      /--identity .*absent\.txt cannot be read/,
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("ASCIINEMA_AGE_IDENTITY: a key quoted, pasted as an export line, in lower case or with whitespace is recognised; errors name the variable, never the value", async () => {
  const t = await makeTestHome();
  try {
    const { identity } = await newIdentity();
    const env = (value: string) => ({
      get: (key: string) => key === AGE_IDENTITY_ENV ? value : undefined,
    });
    const forms = [
      `"${identity}"`,
      `'${identity}'`,
      `export ${AGE_IDENTITY_ENV}=${identity}`,
      `export ${AGE_IDENTITY_ENV}="${identity}"\n`,
      `${AGE_IDENTITY_ENV}='${identity}';`,
      identity.toLowerCase(),
      `  \t${identity}\r\n`,
      `export ${AGE_IDENTITY_ENV}="${identity.toLowerCase()}"`,
    ];
    for (const form of forms) {
      assert.equal(keyFromEnvValue(form), identity, JSON.stringify(form.slice(0, 30)));
      assert.deepEqual(await new Identities({ env: env(form) }).get(), [identity], form);
    }
    // A path stays a path (its file holds the key).
    const file = join(t.root, "key.txt");
    await Deno.writeTextFile(file, `# mine\n${identity}\n`);
    assert.equal(keyFromEnvValue(file), undefined);
    assert.deepEqual(await new Identities({ env: env(file) }).get(), [identity]);

    // Whatever is wrong, the message names the variable and holds nothing of the value.
    const secretPart = identity.slice(16, 50);
    const broken = [
      `"${identity.slice(0, -3)}QQQ"`, // checksum broken
      `export ${AGE_IDENTITY_ENV}=${identity.slice(0, 40)}`, // cut short
      `${identity.slice(0, 20)} ${identity.slice(20)}`, // a space inside
      `AGE_SECRET_KEY_1${identity.slice(16)}`, // not a key, taken as a path
      join(t.root, `absent-${identity.slice(16)}`), // a path that is not there
    ];
    for (const value of broken) {
      await assert.rejects(new Identities({ env: env(value) }).get(), (error: Error) => {
        assert.ok(error instanceof IdentityError, String(error));
        assert.match(error.message, /ASCIINEMA_AGE_IDENTITY/);
        assert.ok(
          !error.message.includes(secretPart.slice(0, 12)) &&
            !error.message.toLowerCase().includes(secretPart.slice(0, 12).toLowerCase()),
          `the value is in the message: ${error.message}`,
        );
        assert.ok(!error.message.includes(t.root), `the path is in the message: ${error.message}`);
        return true;
      }, JSON.stringify(value.slice(0, 30)));
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("a secret key where a recipient belongs, or inside any message, is never shown", async () => {
  const { identity, recipient } = await newIdentity();
  const secretPart = identity.slice(16, 36);
  for (const value of [identity, identity.toLowerCase(), ` ${identity}`]) {
    assert.ok(!recipientShown(value).includes(secretPart.slice(0, 8)), recipientShown(value));
    const check = checkRecipients(`${recipient}, ${value}`);
    assert.equal(typeof check, "string");
    assert.ok(
      !String(check).toLowerCase().includes(secretPart.slice(0, 8).toLowerCase()),
      String(check),
    );
    assert.match(String(check), /an age identity \(the secret key/);
  }
  assert.equal(recipientShown("age1nope"), "age1nope…");
  assert.equal(recipientShown("ghp_abcdefabcdef"), "the value given");
  // Redaction knows the shape of a key, in either case, registered or not.
  for (const text of [`key=${identity}`, `"${identity.toLowerCase()}" is bad`]) {
    assert.ok(!redact(text).toLowerCase().includes(secretPart.toLowerCase()), redact(text));
  }
});

Deno.test("an age header with 20,000 recipient stanzas, or without an end, is refused before any identity is tried", async () => {
  const { identity, recipient } = await newIdentity();
  const sealed = await encryptBytes(encoder.encode("hello"), [recipient]);
  const text = new TextDecoder("latin1").decode(sealed);
  const end = text.indexOf("\n---") + 1;
  const stanza = text.slice(text.indexOf("\n-> ") + 1, end);
  const latin1 = (value: string) => Uint8Array.from(value, (char) => char.charCodeAt(0));
  const many = latin1(text.slice(0, end) + stanza.repeat(20_000) + text.slice(end));
  await assert.rejects(decryptBytes(many, [identity]), (error: Error) => {
    assert.ok(error instanceof DecryptError && error.kind === "corrupt", String(error));
    assert.match(error.message, /more than 128 recipient stanzas/);
    return true;
  });
  await assert.rejects(collect(decryptStream(streamOf(many), [identity])), /128 recipient stanzas/);
  const endless = latin1(text.slice(0, end) + "x".repeat(MAX_AGE_HEADER_BYTES));
  await assert.rejects(collect(decryptStream(streamOf(endless), [identity])), /longer than/);
  // Within the bounds: 128 stanzas are fine (the MAC then says the header was tampered with).
  const bounded = latin1(text.slice(0, end) + stanza.repeat(MAX_AGE_STANZAS - 1) + text.slice(end));
  assert.equal(scanAgeHeader(bounded), "complete");
  assert.equal(scanAgeHeader(bounded.subarray(0, 100)), "incomplete");
  assert.equal(scanAgeHeader(encoder.encode("not age at all")), "complete");
  // An honest file still decrypts, as bytes and streamed in small blocks.
  assert.equal(new TextDecoder().decode(await decryptBytes(sealed, [identity])), "hello");
  const blocks = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < sealed.length; at += 7) controller.enqueue(sealed.slice(at, at + 7));
      controller.close();
    },
  });
  assert.equal(new TextDecoder().decode(await collect(decryptStream(blocks, [identity]))), "hello");
});
