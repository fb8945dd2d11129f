import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DocumentRef } from "../../contracts/document.ts";
import { isSluiceError } from "../../contracts/errors.ts";
import { expandPaths } from "./expand-paths.ts";

const MB = 1024 * 1024;
let root = "";

async function put(rel: string, content: string): Promise<void> {
  const full = join(root, rel);
  await mkdir(join(full, ".."), { recursive: true });
  await writeFile(full, content);
}

async function collect(inputs: string[], maxDocumentBytes = 50 * MB): Promise<DocumentRef[]> {
  const refs: DocumentRef[] = [];
  for await (const ref of expandPaths(inputs, { cwd: root, maxDocumentBytes })) refs.push(ref);
  return refs;
}

void describe("expandPaths", () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "sluice-expand-"));
    await put("docs/a.md", "# A");
    await put("docs/b.txt", "b");
    await put("docs/sub/c.html", "<p>c</p>");
    await put("docs/sub/d.PDF", "%PDF-1.4");
    await put("docs/.hidden/x.md", "hidden");
    await put("docs/.dot.md", "dot");
    await put("docs/node_modules/pkg/readme.md", "dependency");
    await put("docs/image.png", "png");
    await put("docs/notes.docx", "docx");
    await put("other/a.md", "# other A");
    await put("table.csv", "a,b");
    await put(
      "data/corpus.jsonl",
      [
        JSON.stringify({ _id: "doc1", title: "First", text: "Alpha text." }),
        JSON.stringify({
          _id: 42,
          title: "Second",
          text: "Beta text.",
          metadata: { url: "https://x" },
          error: "a field named error",
        }),
        "",
        '{"_id": "broken", "text": "unterminated',
        JSON.stringify({ title: "no id", text: "x" }),
        JSON.stringify({ _id: "no-text", title: "T" }),
        "   ",
        `${JSON.stringify({ _id: "doc7", text: "Gamma text." })}\r`,
        JSON.stringify({ _id: "doc8", text: "Last line without newline." }),
      ].join("\n"),
    );
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  void it("walks a directory: ids relative to it, supported extensions only, no dot entries or node_modules", async () => {
    const refs = await collect(["docs"]);
    assert.deepEqual(
      refs.map((r) => [r.id, r.source, r.kind, r.mediaType]),
      [
        ["a.md", "docs/a.md", "file", "text/markdown"],
        ["b.txt", "docs/b.txt", "file", "text/plain"],
        ["sub/c.html", "docs/sub/c.html", "file", "text/html"],
        ["sub/d.PDF", "docs/sub/d.PDF", "file", "application/pdf"],
      ],
    );
    assert.equal(refs[0]?.path, join(root, "docs/a.md"));
  });

  void it("expands globs relative to cwd", async () => {
    const refs = await collect(["docs/**/*.{md,html}"]);
    assert.deepEqual(
      refs.map((r) => r.id),
      ["docs/a.md", "docs/sub/c.html"],
    );
  });

  void it("yields an explicitly named file even when its type is unsupported", async () => {
    const refs = await collect(["table.csv", "docs/.dot.md"]);
    assert.deepEqual(
      refs.map((r) => [r.id, r.mediaType]),
      [
        ["table.csv", undefined],
        ["docs/.dot.md", "text/markdown"],
      ],
    );
  });

  void it("yields a file reached twice once, and keeps ids unique across directories", async () => {
    const refs = await collect(["docs", "docs/a.md", "other"]);
    assert.deepEqual(
      refs.map((r) => r.id),
      ["a.md", "b.txt", "sub/c.html", "sub/d.PDF", "other/a.md"],
    );
  });

  void it("throws PATH_NOT_FOUND naming a missing path before yielding anything", async () => {
    const seen: DocumentRef[] = [];
    await assert.rejects(
      (async () => {
        for await (const ref of expandPaths(["docs", "missing/file.txt"], { cwd: root, maxDocumentBytes: MB }))
          seen.push(ref);
      })(),
      (err: unknown) =>
        isSluiceError(err) &&
        err.code === "PATH_NOT_FOUND" &&
        err.message.startsWith("missing/file.txt: no such file or directory"),
    );
    assert.equal(seen.length, 0);
    await assert.rejects(
      collect(["nothing/**/*.md"]),
      (err: unknown) =>
        isSluiceError(err) &&
        err.code === "PATH_NOT_FOUND" &&
        err.message.startsWith("nothing/**/*.md: no files match"),
    );
  });

  void it("streams a BEIR .jsonl into inline refs; a bad line fails alone with its line number", async () => {
    const refs = await collect(["data"]);
    const summary = refs.map((r) => ({
      id: r.id,
      source: r.source,
      kind: r.kind,
      title: r.title,
      text: r.text,
      error: (r.meta["error"] as { code: string; message: string } | undefined)?.code,
    }));
    assert.deepEqual(summary, [
      {
        id: "doc1",
        source: "data/corpus.jsonl:1",
        kind: "inline",
        title: "First",
        text: "Alpha text.",
        error: undefined,
      },
      {
        id: "42",
        source: "data/corpus.jsonl:2",
        kind: "inline",
        title: "Second",
        text: "Beta text.",
        error: undefined,
      },
      {
        id: "data/corpus.jsonl:4",
        source: "data/corpus.jsonl:4",
        kind: "inline",
        title: undefined,
        text: undefined,
        error: "JSONL_INVALID",
      },
      {
        id: "data/corpus.jsonl:5",
        source: "data/corpus.jsonl:5",
        kind: "inline",
        title: undefined,
        text: undefined,
        error: "JSONL_INVALID",
      },
      {
        id: "data/corpus.jsonl:6",
        source: "data/corpus.jsonl:6",
        kind: "inline",
        title: undefined,
        text: undefined,
        error: "JSONL_INVALID",
      },
      {
        id: "doc7",
        source: "data/corpus.jsonl:8",
        kind: "inline",
        title: undefined,
        text: "Gamma text.",
        error: undefined,
      },
      {
        id: "doc8",
        source: "data/corpus.jsonl:9",
        kind: "inline",
        title: undefined,
        text: "Last line without newline.",
        error: undefined,
      },
    ]);
    const messages = refs
      .map((r) => (r.meta["error"] as { message: string } | undefined)?.message)
      .filter((m) => m !== undefined);
    assert.match(messages[0] ?? "", /^data\/corpus\.jsonl line 4: invalid JSON/);
    assert.equal(messages[1], 'data/corpus.jsonl line 5: missing "_id"');
    assert.equal(messages[2], 'data/corpus.jsonl line 6: missing "text"');
    assert.deepEqual(refs[1]?.meta, { metadata: { url: "https://x" }, recordError: "a field named error", line: 2 });
    assert.equal(refs[0]?.mediaType, "text/plain");
  });

  void it("caps a JSONL line's size without buffering it, and can be stopped early", async () => {
    const big = JSON.stringify({ _id: "big", text: "x".repeat(300_000) });
    await put(
      "big/corpus.jsonl",
      [JSON.stringify({ _id: "a", text: "small" }), big, JSON.stringify({ _id: "b", text: "after" })].join("\n"),
    );
    const refs = await collect(["big/corpus.jsonl"], 1000);
    assert.deepEqual(
      refs.map((r) => [r.id, (r.meta["error"] as { code: string } | undefined)?.code]),
      [
        ["a", undefined],
        ["big/corpus.jsonl:2", "DOCUMENT_TOO_LARGE"],
        ["b", undefined],
      ],
    );
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: `text ${i}` })).join(
      "\n",
    );
    await put("many/corpus.jsonl", lines);
    const first: string[] = [];
    for await (const ref of expandPaths(["many/corpus.jsonl"], { cwd: root, maxDocumentBytes: MB })) {
      first.push(ref.id);
      if (first.length === 3) break;
    }
    assert.deepEqual(first, ["d0", "d1", "d2"]);
  });
});
