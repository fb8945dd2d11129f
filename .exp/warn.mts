import { PDFDocument, StandardFonts } from "pdf-lib";
import { getDocumentProxy } from "unpdf";
const d2 = await PDFDocument.create();
const p2 = d2.addPage([300,300]); p2.drawText("hello world", { x: 20, y: 200, size: 12, font: await d2.embedFont(StandardFonts.Helvetica) });
const b2 = await d2.save();
try { await getDocumentProxy(b2.subarray(0, Math.floor(b2.length*0.9)), { verbosity: 1 }); } catch (e) { console.error("ERR", (e as Error).message); }
const pdf = await getDocumentProxy(b2, { verbosity: 1 }); const pg = await pdf.getPage(1); console.error(JSON.stringify((await pg.getTextContent()).items.map((i:any)=>i.str)));
