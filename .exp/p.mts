import { readFile } from "node:fs/promises";
import { getDocumentProxy } from "unpdf";
const bytes = new Uint8Array(await readFile(process.argv[2]!));
const pdf = await getDocumentProxy(bytes, { verbosity: 0 });
const page = await pdf.getPage(Number(process.argv[3] ?? 1));
const vp = page.getViewport({ scale: 1 });
console.log("view", page.view, vp.width, vp.height);
const tc = await page.getTextContent();
let i = 0;
for (const it of tc.items) {
  if (!("str" in it)) continue;
  if (i++ > Number(process.argv[4] ?? 60)) break;
  console.log(JSON.stringify(it.str), it.transform.map((n: number) => Math.round(n * 10) / 10).join(","), Math.round(it.width), Math.round(it.height), it.hasEOL);
}
