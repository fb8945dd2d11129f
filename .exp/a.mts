import { readFile } from "node:fs/promises";
import { getDocumentProxy, extractText, getMeta } from "unpdf";
const bytes = new Uint8Array(await readFile(process.argv[2]!));
const pdf = await getDocumentProxy(bytes, { verbosity: 0 });
const meta = await getMeta(pdf);
console.log(JSON.stringify(meta.info).slice(0, 500));
const { text } = await extractText(pdf, { mergePages: false });
console.log(text.length);
console.log(text[0]!.slice(0, 3000));
