import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { htmlToText } from "./html-to-text.ts";

void describe("htmlToText", () => {
  void it("keeps visible prose, breaks lines at blocks and decodes entities", () => {
    const html = `<!doctype html>
<html><head><title>  Release   notes </title><style>p { color: red }</style>
<script>if (a < b) document.write("</p><p>injected");</script></head>
<body><nav><ul><li>Home</li><li><a href="/docs">Docs</a></li></ul></nav>
<article><h1>Version 2</h1>
<p>Ingest is   now
   <em>resumable</em> &amp; faster&nbsp;&mdash; see <a href="#x">below</a>.</p>
<div>first div</div><div>second div<br>after break</div>
<pre>  indented
    code &lt;kept&gt;</pre>
<table><tr><th>Name</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></table>
<noscript>enable JS</noscript><template><p>template text</p></template><p hidden>hidden text</p>
<!-- a comment --></article></body></html>`;
    const { title, text } = htmlToText(html);
    assert.equal(title, "Release notes");
    assert.equal(
      text,
      [
        "Home",
        "Docs",
        "",
        "Version 2",
        "",
        "Ingest is now resumable & faster — see below.",
        "",
        "first div",
        "second div",
        "after break",
        "",
        "  indented",
        "    code <kept>",
        "",
        "Name Value",
        "a 1",
      ].join("\n"),
    );
    for (const hidden of ["injected", "color", "enable JS", "template text", "hidden text", "a comment", "doctype"])
      assert.ok(!text.includes(hidden), hidden);
  });

  void it("takes the title from the first h1 when there is no <title>", () => {
    const { title, text } = htmlToText("<body><h1>Getting <b>started</b></h1><p>Body.</p><h1>Second</h1></body>");
    assert.equal(title, "Getting started");
    assert.equal(text, "Getting started\n\nBody.\n\nSecond");
  });

  void it("handles fragments without html/body and returns an empty title when none exists", () => {
    assert.deepEqual(htmlToText("just <i>some</i> text"), { title: "", text: "just some text" });
  });
});
