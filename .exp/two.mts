import { PDFDocument, StandardFonts } from "pdf-lib";
import { getDocumentProxy } from "unpdf";
const doc = await PDFDocument.create();
const font = await doc.embedFont(StandardFonts.Helvetica);
const page = doc.addPage([612, 792]);
for (let i = 0; i < 3; i++) {
  page.drawText(`Left column line ${i + 1} of the first story.`, { x: 54, y: 680 - i * 12, size: 10, font });
  page.drawText(`Right column line ${i + 1} of the second story.`, { x: 320, y: 680 - i * 12, size: 10, font });
}
const pdf = await getDocumentProxy(await doc.save(), { verbosity: 0 });
const tc = await (await pdf.getPage(1)).getTextContent();
for (const it of tc.items as any[]) console.log(JSON.stringify(it.str), it.transform.join(","), it.width, it.hasEOL);
