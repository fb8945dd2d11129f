import assert from "node:assert/strict";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DocumentRef } from "../../contracts/document.ts";
import { isSluiceError } from "../../contracts/errors.ts";
import { parseBytes } from "../parse/formats/index.ts";
import { expandPaths } from "./expand-paths.ts";
import { readDocument } from "./read-document.ts";

const MB = 1024 * 1024;
let root = "";

const fileRef = (name: string, extra: Partial<DocumentRef> = {}): DocumentRef => ({
  id: name,
  source: `docs/${name}`,
  kind: "file",
  path: join(root, name),
  meta: {},
  ...extra,
});

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSluiceError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

void describe("readDocument", () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "sluice-read-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  void it("reads a file and types it", async () => {
    await writeFile(join(root, "a.md"), "# Hello");
    const raw = await readDocument(fileRef("a.md", { mediaType: "text/markdown" }), { maxDocumentBytes: MB });
    assert.equal(raw.mediaType, "text/markdown");
    assert.equal(new TextDecoder().decode(raw.bytes), "# Hello");
  });

  void it("gives the UTF-8 bytes of an inline document", async () => {
    const raw = await readDocument(
      { id: "d1", source: "c.jsonl:1", kind: "inline", text: "héllo", meta: {} },
      { maxDocumentBytes: MB },
    );
    assert.equal(raw.mediaType, "text/plain");
    assert.deepEqual([...raw.bytes], [...Buffer.from("héllo")]);
  });

  void it("refuses url refs, pointing to source.download", async () => {
    const url = "https://example.org/a.pdf";
    await rejectsWith(
      readDocument({ id: "a", source: url, kind: "url", url, meta: {} }, { maxDocumentBytes: MB }),
      "VALIDATION_FAILED",
      /fetched by the source\.download stage, not source\.load/,
    );
  });

  void it("throws the error a source attached to an inline ref", async () => {
    const ref: DocumentRef = {
      id: "c.jsonl:17",
      source: "c.jsonl:17",
      kind: "inline",
      meta: { error: { code: "JSONL_INVALID", message: "c.jsonl line 17: invalid JSON" } },
    };
    await rejectsWith(readDocument(ref, { maxDocumentBytes: MB }), "JSONL_INVALID", /^c\.jsonl line 17: invalid JSON$/);
  });

  void it("fails an empty file with DOCUMENT_EMPTY", async () => {
    await writeFile(join(root, "empty.txt"), "");
    await rejectsWith(
      readDocument(fileRef("empty.txt"), { maxDocumentBytes: MB }),
      "DOCUMENT_EMPTY",
      /^docs\/empty\.txt: file is empty/,
    );
  });

  void it("fails a 200 MB file with DOCUMENT_TOO_LARGE from its size alone, quickly", async () => {
    const path = join(root, "huge.txt");
    await writeFile(path, "");
    await truncate(path, 200 * MB); // sparse: nothing is written
    const started = performance.now();
    await rejectsWith(
      readDocument(fileRef("huge.txt"), { maxDocumentBytes: 50 * MB }),
      "DOCUMENT_TOO_LARGE",
      /^docs\/huge\.txt: document is 200\.0 MB \(209715200 bytes\), over the 50\.0 MB limit/,
    );
    assert.ok(performance.now() - started < 500, "did not read the file");
  });

  void it("fails binary bytes in a .txt file with DOCUMENT_BINARY", async () => {
    await writeFile(
      join(root, "photo.txt"),
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    );
    await rejectsWith(
      readDocument(fileRef("photo.txt", { mediaType: "text/plain" }), { maxDocumentBytes: MB }),
      "DOCUMENT_BINARY",
      /^docs\/photo\.txt: file looks binary \(PNG image signature\)/,
    );
  });

  void it("fails a vanished file with PATH_NOT_FOUND, and honours an aborted signal", async () => {
    await rejectsWith(
      readDocument(fileRef("gone.txt"), { maxDocumentBytes: MB }),
      "PATH_NOT_FOUND",
      /^docs\/gone\.txt: file not found/,
    );
    await writeFile(join(root, "ok.txt"), "ok");
    await assert.rejects(readDocument(fileRef("ok.txt"), { maxDocumentBytes: MB, signal: AbortSignal.abort() }), {
      name: "AbortError",
    });
  });

  void it("lets an explicitly named unsupported file fail later with UNSUPPORTED_TYPE", async () => {
    await writeFile(join(root, "table.csv"), "a,b\n1,2\n");
    const refs: DocumentRef[] = [];
    for await (const ref of expandPaths(["table.csv"], { cwd: root, maxDocumentBytes: MB })) refs.push(ref);
    assert.equal(refs.length, 1);
    const raw = await readDocument(refs[0] as DocumentRef, { maxDocumentBytes: MB });
    await rejectsWith(
      parseBytes(raw),
      "UNSUPPORTED_TYPE",
      /^table\.csv: unsupported document type \(application\/octet-stream\); supported extensions: \.txt /,
    );
  });
});
