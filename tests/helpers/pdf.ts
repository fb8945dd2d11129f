import { PDFDocument, PDFHexString, StandardFonts } from "pdf-lib";

/** A PDF with one page per entry, each page one line of text per string. */
export async function makePdf(pages: string[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([612, 792]);
    lines.forEach((line, i) => page.drawText(line, { x: 72, y: 720 - i * 14, size: 11, font }));
  }
  return doc.save();
}

/** A PDF behind the Standard security handler whose user password is not empty. */
export async function makeEncryptedPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage([300, 300]).drawText("secret", { x: 20, y: 200, size: 12, font });
  const hex = (byte: string) => PDFHexString.of(byte.repeat(32));
  const ctx = doc.context;
  ctx.trailerInfo.Encrypt = ctx.register(
    ctx.obj({ Filter: "Standard", V: 1, R: 2, Length: 40, O: hex("ab"), U: hex("cd"), P: -44 }),
  );
  ctx.trailerInfo.ID = ctx.obj([
    PDFHexString.of("0123456789abcdef0123456789abcdef"),
    PDFHexString.of("0123456789abcdef0123456789abcdef"),
  ]);
  return doc.save({ useObjectStreams: false });
}
