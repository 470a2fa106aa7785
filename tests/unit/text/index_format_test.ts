/** The text index format: round trip, escaping, versions, streaming, zstd on disk. */
import assert from "node:assert/strict";
import { decryptBytes, newIdentity } from "../../../lib/crypto/mod.ts";
import { parseSettings } from "../../../lib/sys/mod.ts";
import {
  compileMatcher,
  decodeDerivedPayload,
  decodeIndexHeader,
  derivedPayloadCodec,
  encodeDerivedPayload,
  encodeIndexHeader,
  encodeIndexLine,
  escapeText,
  INDEX_VERSION,
  IndexDecoder,
  IndexFormatError,
  indexTime,
  type Match,
  MatchScanner,
  textIndexPathOnBranch,
  ZstdWriter,
} from "../../../lib/text/mod.ts";

const META = { id: "rec-1", bytes: 1234, cols: 80, rows: 24, timestamp: 1_700_000_000 };

Deno.test("lines round-trip through the format, tabs, newlines and backslashes included", () => {
  const lines = [
    { t: 0.5, text: "$ echo hi" },
    { t: 12.25, text: "a\tb\\c\nd\re" },
    { t: 3600, text: "" },
  ];
  const text = encodeIndexHeader(META) + lines.map(encodeIndexLine).join("");
  assert.equal(text.split("\n").length, 5, "one line of the file per line of text");
  assert.match(text, /^asciinema-chunker-text\t1\t\{/);
  // Fed in small blocks, as a stream.
  const decoder = new IndexDecoder();
  const out = [];
  for (let at = 0; at < text.length; at += 5) {
    out.push(...decoder.push(text.slice(at, at + 5)).lines);
  }
  out.push(...decoder.end());
  assert.deepEqual(decoder.meta, META);
  assert.deepEqual(out, lines);
});

Deno.test("another version or format is refused, naming reindex", () => {
  assert.throws(
    () => decodeIndexHeader(`asciinema-chunker-text\t${INDEX_VERSION + 1}\t{}`),
    /reindex --force/,
  );
  assert.throws(() => decodeIndexHeader("something else"), IndexFormatError);
  assert.throws(() => new IndexDecoder().end(), /empty/);
});

Deno.test("times are seconds rounded to the millisecond; the path sits beside the manifest", () => {
  assert.equal(indexTime(1_234_567), 1.235);
  assert.equal(encodeIndexLine({ t: 1.5, text: "x" }), "1.500\tx\n");
  assert.equal(textIndexPathOnBranch("a b"), "recordings/a b/text.zst");
  assert.equal(textIndexPathOnBranch("x", ".age"), "recordings/x/text.zst.age");
});

Deno.test("the payload is a zstd frame the zstd tool reads, and decodes back streaming", async () => {
  const writer = new ZstdWriter();
  const body = encodeIndexHeader(META) + encodeIndexLine({ t: 1, text: "caf\u00e9" }).repeat(5000);
  writer.write(body);
  const sealed = await encodeDerivedPayload(await writer.finish());
  assert.equal(sealed.suffix, "");
  assert.ok(sealed.bytes.length < body.length / 10);
  const cli = await new Deno.Command("zstd", {
    args: ["-d", "-c"],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const writerCli = cli.stdin.getWriter();
  await writerCli.write(sealed.bytes);
  await writerCli.close();
  assert.equal(new TextDecoder().decode((await cli.output()).stdout), body);
  let decoded = "";
  const decoder = new TextDecoder();
  for await (const block of decodeDerivedPayload(sealed.bytes)) {
    decoded += decoder.decode(block, { stream: true });
  }
  assert.equal(decoded, body);
});

Deno.test("with encryption recipients, derived payloads are age(zstd(text)) named .age; without, plain", async () => {
  assert.equal(derivedPayloadCodec(parseSettings({})).suffix, "");
  const { identity, recipient } = await newIdentity();
  const codec = derivedPayloadCodec(parseSettings({ encryption: { recipients: [recipient] } }));
  assert.equal(codec.suffix, ".age");
  const writer = new ZstdWriter();
  const body = encodeIndexHeader(META) + encodeIndexLine({ t: 1, text: "secret-marker" });
  writer.write(body);
  const sealed = await encodeDerivedPayload(await writer.finish(), codec);
  assert.equal(sealed.suffix, ".age");
  assert.ok(!new TextDecoder().decode(sealed.bytes).includes("secret-marker"));
  let decoded = "";
  for await (const block of decodeDerivedPayload(await decryptBytes(sealed.bytes, [identity]))) {
    decoded += new TextDecoder().decode(block);
  }
  assert.equal(decoded, body);
});

Deno.test("a search that skips regions without the pattern finds the same matches, numbers and context", () => {
  const lines = Array.from({ length: 5000 }, (_, i) => ({
    t: i / 10,
    text: i % 997 === 5 ? `line ${i} has the NEEDLE\there` : `line ${i} plain`,
  }));
  const text = encodeIndexHeader(META) + lines.map(encodeIndexLine).join("");
  const needle = "NEEDLE\the";
  for (const context of [0, 2]) {
    const plain = new MatchScanner(compileMatcher(needle), context);
    const expected: Match[] = lines.flatMap((line) => plain.push(line));
    expected.push(...plain.end());
    const scanner = new MatchScanner(compileMatcher(needle), context);
    const decoder = new IndexDecoder();
    const found: Match[] = [];
    let skipped = 0;
    const filter = {
      keep: context,
      skip: (region: string) => !region.includes(escapeText(needle)),
    };
    for (let at = 0; at < text.length; at += 4096) {
      const batch = decoder.push(text.slice(at, at + 4096), filter);
      for (const line of batch.lines) found.push(...scanner.push(line));
      if (batch.skipped) {
        skipped += batch.skipped.count;
        found.push(...scanner.skip(batch.skipped.count, batch.skipped.head, batch.skipped.tail));
      }
    }
    for (const line of decoder.end()) found.push(...scanner.push(line));
    found.push(...scanner.end());
    assert.ok(skipped > 3500, `most lines were skipped (${skipped})`);
    assert.equal(found.length, 6);
    assert.deepEqual(found, expected);
  }
});
