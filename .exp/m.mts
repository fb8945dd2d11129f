import { markdownToText } from "../src/stages/parse/formats/markdown-to-text.ts";
console.log(markdownToText("---\ntitle: Notes\n---\n# Setup\nRun **npm i** — see [the docs](https://x.dev).", "docs/setup.md"));
const md = `---
title: "Front Title"
tags: [a, b]
---

Intro paragraph with *emphasis*, _under_, snake_case_name, 2 * 3 * 4, and \`a*b*c\` code.

Big Title
=========

![logo](img.png "Logo") and [link text](https://example.com/a_(b) "t") and <span class="x">html</span> <!-- hidden -->
<!--
multi
-->
- item **one**
* [x] done task
1. first

> quoted ~~strike~~ text

| Col A | Col B |
|-------|:-----:|
| 1     | 2     |

\`\`\`js
const x = "**not emphasis**";
\`\`\`

Sub
---
***
[ref]: https://x.y
See [this][ref] &amp; <https://auto.link>. Escaped \\*star\\*.
## Closing ##
`;
console.log(markdownToText(md, "a/b/notes.md"));
console.log(markdownToText("just text", "a/b/notes.markdown"));
