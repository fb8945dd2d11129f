import { readFile } from "node:fs/promises";
import { getDocumentProxy } from "unpdf";
import { pdfToPages } from "../src/stages/parse/formats/pdf-to-pages.ts";
const f = process.argv[2]!;
const bytes = new Uint8Array(await readFile(f));
let t0 = performance.now();
const pdf = await getDocumentProxy(bytes.slice(), { verbosity: 0 });
for (let i = 1; i <= pdf.numPages; i++) { const p = await pdf.getPage(i); await p.getTextContent(); }
console.log("raw pdf.js", Math.round(performance.now() - t0));
await pdf.destroy();
for (let k = 0; k < 3; k++) { t0 = performance.now(); await pdfToPages(bytes, f); console.log("pdfToPages", Math.round(performance.now() - t0)); }
