import { createRequire } from "node:module";
import type { HTMLElement, Node } from "node-html-parser";

// DOM node types (node-html-parser's NodeType values).
const ELEMENT_NODE = 1;
const TEXT_NODE = 3;

/** The parser, required with the first HTML document rather than with the pipeline. */
function htmlParser(): typeof import("node-html-parser") {
  return createRequire(import.meta.url)("node-html-parser") as typeof import("node-html-parser");
}

/** Elements whose content is never prose. (`head` is skipped too; its `<title>` becomes the title.) */
const SKIPPED = new Set([
  "script",
  "style",
  "noscript",
  "template",
  "head",
  "title",
  "svg",
  "canvas",
  "iframe",
  "object",
  "embed",
  "select",
  "datalist",
]);

/** Elements that end a paragraph: a blank line before and after. */
const PARAGRAPH = new Set([
  "p",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "pre",
  "blockquote",
  "section",
  "article",
  "aside",
  "header",
  "footer",
  "main",
  "nav",
  "figure",
  "table",
  "ul",
  "ol",
  "dl",
  "form",
  "fieldset",
  "details",
  "address",
  "hgroup",
  "hr",
]);

/** Elements that start a new line. */
const LINE = new Set([
  "div",
  "li",
  "dt",
  "dd",
  "tr",
  "caption",
  "figcaption",
  "summary",
  "legend",
  "option",
  "body",
  "html",
  "dialog",
  "center",
]);

/** Table cells: separated by a tab-like gap within the row's line. */
const CELL = new Set(["td", "th"]);

/** Accumulates text line by line: inline runs collapse whitespace, `<pre>` keeps it, blocks request breaks. */
class TextBuilder {
  private readonly lines: string[] = [];
  private line = "";
  private pending = 0;

  /** Requests `n` line breaks (1: new line, 2: blank line) before the next text. */
  breakLines(n: 1 | 2): void {
    this.pending = Math.max(this.pending, n);
  }

  private flushBreaks(): void {
    if (this.pending === 0) return;
    if (this.line.trim() !== "" || this.lines.length > 0) {
      this.lines.push(this.line.trimEnd());
      if (this.pending === 2) this.lines.push("");
    }
    this.line = "";
    this.pending = 0;
  }

  inline(text: string): void {
    const collapsed = text.replace(/\s+/g, " ");
    if (collapsed === "" || (collapsed === " " && (this.line === "" || this.pending > 0))) return;
    this.flushBreaks();
    this.line += this.line === "" || this.line.endsWith(" ") ? collapsed.trimStart() : collapsed;
  }

  preformatted(text: string): void {
    const parts = text.split(/\r\n?|\n/);
    parts.forEach((part, i) => {
      if (i > 0) {
        this.lines.push(this.line.trimEnd());
        this.line = "";
      } else this.flushBreaks();
      this.line += part.replace(/\t/g, "    ");
    });
  }

  toString(): string {
    this.lines.push(this.line.trimEnd());
    return this.lines
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim();
  }
}

function isElement(node: Node): node is HTMLElement {
  return (node.nodeType as number) === ELEMENT_NODE;
}

function walk(node: Node, out: TextBuilder, inPre: boolean): void {
  if ((node.nodeType as number) === TEXT_NODE) {
    if (inPre) out.preformatted(node.text);
    else out.inline(node.text);
    return;
  }
  if (!isElement(node)) {
    for (const child of node.childNodes) walk(child, out, inPre);
    return;
  }
  const tag = node.rawTagName?.toLowerCase() ?? "";
  if (SKIPPED.has(tag) || node.hasAttribute("hidden") || node.getAttribute("aria-hidden") === "true") return;
  if (tag === "br") {
    if (inPre) out.preformatted("\n");
    else out.breakLines(1);
    return;
  }
  const breaks: 0 | 1 | 2 = PARAGRAPH.has(tag) ? 2 : LINE.has(tag) ? 1 : 0;
  if (breaks > 0) out.breakLines(breaks as 1 | 2);
  if (CELL.has(tag)) out.inline(" ");
  const pre = inPre || tag === "pre" || tag === "textarea";
  for (const child of node.childNodes) walk(child, out, pre);
  if (CELL.has(tag)) out.inline(" ");
  if (breaks > 0) out.breakLines(breaks as 1 | 2);
}

function plainText(el: HTMLElement | null): string {
  return el === null ? "" : el.text.replace(/\s+/g, " ").trim();
}

/**
 * Extracts readable text from HTML: drops `script`, `style`, `noscript`, `template`, `head` (keeping `<title>` as the
 * title), SVG and hidden elements; block elements become line breaks (paragraph-level ones a blank line); whitespace
 * collapses within lines except inside `<pre>`; entities are decoded. The title is `<title>`, else the first `<h1>`,
 * else "".
 *
 * @example
 * htmlToText("<title>Guide</title><h1>Intro</h1><p>Hello&nbsp;&amp; <b>welcome</b></p>");
 * // { title: "Guide", text: "Intro\n\nHello & welcome" }
 */
export function htmlToText(html: string): { title: string; text: string } {
  // node-html-parser keeps declarations and processing instructions as text.
  const cleaned = html
    .replace(/<!doctype[^>]*>/gi, "")
    .replace(/<\?xml[^>]*\?>/gi, "")
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, "$1");
  const root = htmlParser().parse(cleaned, {
    comment: false,
    lowerCaseTagName: true,
    blockTextElements: { script: false, style: false, noscript: false },
  });
  const title = plainText(root.querySelector("title")) || plainText(root.querySelector("h1"));
  const out = new TextBuilder();
  for (const child of root.childNodes) walk(child, out, false);
  return { title, text: out.toString() };
}
