import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { markdownToText } from "./markdown-to-text.ts";

void describe("markdownToText", () => {
  void it("keeps the prose and strips the syntax", () => {
    const md = [
      "---",
      'title: "Front matter title"',
      "tags: [ingest]",
      "---",
      "",
      "# Resuming *failed* jobs",
      "",
      'Run **`sluice resume`** with the [job id](https://example.com/jobs_(id) "Jobs"). See ![diagram](img/flow.png) and <span class="x">inline html</span>.',
      "Keep snake_case_names, 2 * 3 * 4 and `a*b*c` as they are; \\*escaped\\* stars stay.",
      "<!-- a comment",
      "over two lines -->",
      "- first **bullet**",
      "* [x] done task",
      "1. ordered item",
      "",
      "> quoted ~~old~~ text",
      "",
      "| Stage | Retries |",
      "|:------|--------:|",
      "| parse | 3 |",
      "",
      "```ts",
      'const x = "**kept as is**";',
      "```",
      "",
      "Setext heading",
      "--------------",
      "***",
      "[ref]: https://example.com",
      "See [the guide][ref] &amp; <https://sluice.dev>.",
    ].join("\n");
    const { title, text } = markdownToText(md, "docs/resume.md");
    assert.equal(title, "Resuming failed jobs");
    assert.equal(
      text,
      [
        "Resuming failed jobs",
        "",
        "Run sluice resume with the job id. See diagram and inline html.",
        "Keep snake_case_names, 2 * 3 * 4 and a*b*c as they are; *escaped* stars stay.",
        "first bullet",
        "done task",
        "1. ordered item",
        "",
        "quoted old text",
        "",
        "Stage | Retries",
        "parse | 3",
        "",
        'const x = "**kept as is**";',
        "",
        "Setext heading",
        "See the guide & https://sluice.dev.",
      ].join("\n"),
    );
  });

  void it("falls back to the front matter title, then the file name", () => {
    assert.equal(markdownToText("---\ntitle: 'From YAML'\n---\nno headings here", "a/b.md").title, "From YAML");
    assert.equal(markdownToText("no headings here", "notes/meeting-2024.markdown").title, "meeting-2024");
    assert.equal(markdownToText("Intro\n=====\n\ntext", "x.md").title, "Intro");
  });
});
