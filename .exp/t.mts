import { readFile } from "node:fs/promises";
import { pdfToPages } from "../src/stages/parse/formats/pdf-to-pages.ts";
const f = process.argv[2]!;
const t0 = Date.now();
const r = await pdfToPages(new Uint8Array(await readFile(f)), f);
console.log("title:", r.title, "pages:", r.pages.length, "ms", Date.now() - t0);
const p = Number(process.argv[3] ?? 1);
console.log(r.pages[p - 1]!.text.slice(0, Number(process.argv[4] ?? 4000)));
