import { PDFDocument, StandardFonts, PDFHexString, PDFName, PDFNumber } from "pdf-lib";
import { pdfToPages } from "../src/stages/parse/formats/pdf-to-pages.ts";
const doc = await PDFDocument.create();
const font = await doc.embedFont(StandardFonts.Helvetica);
const page = doc.addPage([300, 300]);
page.drawText("secret text", { x: 20, y: 200, size: 12, font });
const ctx = doc.context;
const hex32 = (b: number) => PDFHexString.of(b.toString(16).padStart(2, "0").repeat(32));
const enc = ctx.obj({ Filter: "Standard", V: 1, R: 2, Length: 40, O: hex32(0xab), U: hex32(0xcd), P: -44 });
ctx.trailerInfo.Encrypt = ctx.register(enc);
ctx.trailerInfo.ID = ctx.obj([hex32(1).toString().length ? PDFHexString.of("0123456789abcdef0123456789abcdef") : hex32(1), PDFHexString.of("0123456789abcdef0123456789abcdef")]);
const bytes = await doc.save({ useObjectStreams: false });
console.log(Buffer.from(bytes).toString("latin1").slice(-400));
try { console.log(await pdfToPages(bytes, "enc.pdf")); } catch (e) { console.log("ERR", (e as Error).name, (e as any).code, (e as Error).message); }
// plain
const d2 = await PDFDocument.create();
const p2 = d2.addPage([300,300]); p2.drawText("hello world", { x: 20, y: 200, size: 12, font: await d2.embedFont(StandardFonts.Helvetica) });
const b2 = await d2.save();
for (const frac of [0.9, 0.5, 0.3, 0.1]) {
  try { const r = await pdfToPages(b2.subarray(0, Math.floor(b2.length * frac)), "t.pdf"); console.log(frac, JSON.stringify(r)); } catch (e) { console.log(frac, "ERR", (e as any).code, (e as Error).message); }
}
for (const g of [new TextEncoder().encode("%PDF-1.7\n" + "garbage ".repeat(200)), new TextEncoder().encode("hello, not a pdf at all"), new Uint8Array(0)]) {
  try { const r = await pdfToPages(g, "g.pdf"); console.log(JSON.stringify(r)); } catch (e) { console.log("ERR", (e as any).code, (e as Error).message); }
}
