import { basename, extname } from "node:path";

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  mdash: "—",
  ndash: "–",
  hellip: "…",
  copy: "©",
  reg: "®",
  trade: "™",
  laquo: "«",
  raquo: "»",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  times: "×",
  middot: "·",
  bull: "•",
  deg: "°",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, body: string) => {
    if (body.startsWith("#")) {
      const code = body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/** Backslash-escaped punctuation is parked in the private use area while markers are stripped. */
const ESCAPED = /\\([\\`*_{}[\]()#+\-.!|>~<"'])/g;
const PARKED = /[\uE000-\uE07F]/g;

/** Strips emphasis, links, images, HTML tags and escapes from a run of text that holds no code span. */
function stripInlineProse(text: string): string {
  return decodeEntities(
    text
      .replace(ESCAPED, (_m, c: string) => String.fromCharCode(0xe000 + c.charCodeAt(0)))
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1") // ![alt](src) -> alt
      .replace(/!\[([^\]]*)\]\[[^\]]*\]/g, "$1") // ![alt][ref] -> alt
      .replace(/\[([^\]]+)\]\((?:[^()\s]|\([^)]*\))*(?:\s+["'(][^)]*["')])?\s*\)/g, "$1") // [t](url "title") -> t
      .replace(/\[([^\]]+)\]\[[^\]]*\]/g, "$1") // [t][ref] -> t
      .replace(/<((?:https?|ftp|mailto):[^>\s]+)>/gi, "$1") // <https://x> -> https://x
      .replace(/<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?\/?>/g, "") // inline HTML tags
      .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, "$2") // **strong** / __strong__
      .replace(/(^|[^\w*])\*(?=[^\s*])([^*]*?[^\s*])\*(?![\w*])/g, "$1$2") // *em*
      .replace(/(^|[^\w])_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/g, "$1$2") // _em_ (not snake_case)
      .replace(/~~(?=\S)([\s\S]*?\S)~~/g, "$1") // ~~strike~~
      .replace(PARKED, (c) => String.fromCharCode(c.charCodeAt(0) - 0xe000)),
  );
}

/** Inline formatting removed; the contents of code spans are kept verbatim. */
function stripInline(line: string): string {
  // Code spans are parked as private-use placeholders so that markers around them ("**`x`**") still pair up.
  const spans: string[] = [];
  const parked = line.replace(/(?<!\\)(`+)([\s\S]*?[^`])\1(?!`)/g, (_m, _ticks: string, code: string) => {
    spans.push(code.trim());
    return `\uE100${spans.length - 1}\uE101`;
  });
  return stripInlineProse(parked).replace(/\uE100(\d+)\uE101/g, (_m, i: string) => spans[Number(i)] ?? "");
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))))
    return v.slice(1, -1).trim();
  return v;
}

/** Splits YAML (`---`) or TOML (`+++`) front matter off the top; returns its `title` and the remaining lines. */
function splitFrontMatter(lines: string[]): { title: string; body: string[] } {
  const fence = lines[0]?.trimEnd();
  if (fence !== "---" && fence !== "+++") return { title: "", body: lines };
  const end = lines.findIndex((l, i) => i > 0 && (l.trimEnd() === fence || (fence === "---" && l.trimEnd() === "...")));
  if (end < 0) return { title: "", body: lines };
  let title = "";
  for (const l of lines.slice(1, end)) {
    const m = /^title\s*[:=]\s*(.+)$/.exec(l);
    if (m) {
      title = unquote(m[1] as string);
      break;
    }
  }
  return { title, body: lines.slice(end + 1) };
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const ATX_HEADING = /^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$/;
const SETEXT_UNDERLINE = /^ {0,3}(?:=+|-+)\s*$/;
const THEMATIC_BREAK = /^ {0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$/;
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*\S+/;
const TABLE_DELIMITER = /^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)+\|?\s*$/;

/**
 * Keeps the prose of a Markdown document: front matter is dropped, headings lose their `#`s, code fences lose their
 * markers (the code is kept), links and images become their text, emphasis markers, HTML tags and comments vanish,
 * list bullets and blockquote markers are removed, table pipes become ` | ` separators. The title is the first
 * heading, else the front matter `title`, else the file name without its extension.
 *
 * @param markdown the decoded Markdown source
 * @param source file name or path, for the fallback title
 *
 * @example
 * markdownToText("---\ntitle: Notes\n---\n# Setup\nRun **npm i** — see [the docs](https://x.dev).", "docs/setup.md");
 * // { title: "Setup", text: "Setup\nRun npm i — see the docs." }
 */
export function markdownToText(markdown: string, source: string): { title: string; text: string } {
  const { title: frontTitle, body } = splitFrontMatter(markdown.replace(/\r\n?/g, "\n").split("\n"));
  const out: string[] = [];
  let heading = "";
  let fence: string | undefined;
  let inComment = false;
  let prevParagraph = false;

  for (const raw of body) {
    if (fence !== undefined) {
      const marker = FENCE.exec(raw)?.[1];
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && raw.trim() === marker)
        fence = undefined;
      else out.push(raw.trimEnd());
      continue;
    }
    const opening = FENCE.exec(raw)?.[1];
    if (opening !== undefined) {
      fence = opening;
      prevParagraph = false;
      continue;
    }
    let line = raw;
    // HTML comments, possibly spanning lines; a line that held only a comment vanishes.
    const hadText = raw.trim() !== "";
    if (inComment) {
      const end = line.indexOf("-->");
      if (end < 0) continue;
      line = line.slice(end + 3);
      inComment = false;
    }
    line = line.replace(/<!--[\s\S]*?-->/g, "");
    const start = line.indexOf("<!--");
    if (start >= 0) {
      line = line.slice(0, start);
      inComment = true;
    }
    if (hadText && line.trim() === "") continue;

    const afterParagraph = prevParagraph;
    prevParagraph = false;
    if (afterParagraph && SETEXT_UNDERLINE.test(line)) {
      // "Title\n=====" or "Title\n-----": the previous line was a heading.
      if (heading === "") heading = (out[out.length - 1] ?? "").trim();
      continue;
    }
    if (THEMATIC_BREAK.test(line) || LINK_DEFINITION.test(line) || TABLE_DELIMITER.test(line)) continue;

    const atx = ATX_HEADING.exec(line);
    if (atx) {
      const text = stripInline(atx[1] ?? "").trim();
      if (heading === "" && text !== "") heading = text;
      out.push(text);
      continue;
    }
    line = line.replace(/^ {0,3}(?:>\s?)+/, ""); // blockquote markers
    line = line.replace(/^(\s*)[-*+]\s+(?:\[[ xX]\]\s+)?/, "$1"); // bullets and task boxes
    if (/^\s*\|.*\|\s*$/.test(line)) {
      line = line
        .trim()
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim())
        .join(" | ");
    }
    const text = stripInline(line).trimEnd();
    prevParagraph = text.trim() !== "";
    out.push(text);
  }

  const text = out
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  const fileTitle = basename(source, extname(source));
  return { title: heading || frontTitle || fileTitle, text };
}
