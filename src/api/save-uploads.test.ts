import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sanitizeFileName } from "./save-uploads.ts";

void describe("sanitizeFileName", () => {
  void it("keeps only the last path segment, so a name can never leave the upload folder", () => {
    assert.equal(sanitizeFileName("../../etc/passwd.txt"), "passwd.txt");
    assert.equal(sanitizeFileName("C:\\\\Users\\\\me\\\\notes.md"), "notes.md");
    assert.equal(sanitizeFileName(".."), "");
  });

  void it("replaces unsafe characters, drops leading dots, keeps letters of any script", () => {
    assert.equal(sanitizeFileName("My Notes (v2).md"), "My_Notes_v2_.md");
    assert.equal(sanitizeFileName(".hidden.md"), "hidden.md");
    assert.equal(sanitizeFileName("résumé 履歴書.txt"), "résumé_履歴書.txt");
  });

  void it("caps the length at 200 characters and keeps the extension", () => {
    const name = sanitizeFileName(`${"a".repeat(300)}.md`);
    assert.equal(name.length, 200);
    assert.ok(name.endsWith(".md"));
  });
});
