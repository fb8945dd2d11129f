/**
 * Test helper: draws lines of text into a PNG, so OCR tests read images made from text they know
 * instead of shipping binary fixtures.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createCanvas, GlobalFonts } from "@napi-rs/canvas";

const TLWG_DIR = "/usr/share/fonts/truetype/tlwg";
/**
 * Plain text faces of fonts-thai-tlwg, best-read first. All five read the conformance suite's Thai
 * at 0% CER with tesseract's tha model; on a harder sample with stacked tone marks (น้ำ, ชั่ว)
 * Loma lost the fewest (1.8%, Garuda 2.7%, the others 3.5-4.4%).
 */
const TLWG_FACES = ["Loma.ttf", "Garuda.ttf", "Waree.ttf", "Norasi.ttf", "Kinnari.ttf"];
const THAI_FAMILY = "Sluice Test Thai";

export interface RenderTextImageOptions {
  /** `thai` needs a Thai font ({@link findThaiFont}); `latin` uses DejaVu Sans when the system has it. */
  font: "latin" | "thai";
  /** Default 40. */
  fontSizePx?: number;
}

/**
 * A Thai font file on this machine: a fonts-thai-tlwg face when installed, else the first file
 * `fc-list :lang=th` names, else null (tests then skip their Thai cases).
 *
 * @example
 * const font = findThaiFont();
 * if (font === null) t.skip("no Thai font: install fonts-thai-tlwg");
 */
export function findThaiFont(): string | null {
  for (const face of TLWG_FACES) {
    const path = join(TLWG_DIR, face);
    if (existsSync(path)) return path;
  }
  try {
    const listed = execFileSync("fc-list", [":lang=th", "file"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const file = listed
      .split("\n")
      .map((line) => line.replace(/:\s*$/, "").trim())
      .find((path) => /\.(ttf|otf)$/i.test(path));
    return file ?? null;
  } catch {
    return null; // no fontconfig: nothing more to look in
  }
}

/**
 * Renders `lines` black on white, one per row, with margins and 1.8x line spacing (Thai stacks
 * vowels and tone marks above and below the letters, so tight rows would touch). The canvas is as
 * wide as the longest line needs.
 *
 * @throws Error when `font: "thai"` and no Thai font is installed
 *
 * @example
 * const png = await renderTextImage(["The quarterly report was filed on Monday."], { font: "latin" });
 * const { width, height } = pngSize(png);
 */
export async function renderTextImage(lines: readonly string[], options: RenderTextImageOptions): Promise<Uint8Array> {
  const size = options.fontSizePx ?? 40;
  const family = options.font === "thai" ? thaiFamily() : latinFamily();
  const font = `${size}px "${family}"`;
  const margin = size;
  const lineHeight = Math.round(size * 1.8);

  const measure = createCanvas(1, 1).getContext("2d");
  measure.font = font;
  const textWidth = Math.max(1, ...lines.map((line) => Math.ceil(measure.measureText(line).width)));

  const canvas = createCanvas(textWidth + 2 * margin, lines.length * lineHeight + 2 * margin);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#000000";
  ctx.font = font;
  ctx.textBaseline = "alphabetic";
  // The baseline sits one font size below the row's top, leaving the rest of the row for descenders and below-marks.
  lines.forEach((line, i) => ctx.fillText(line, margin, margin + i * lineHeight + size));
  return new Uint8Array(await canvas.encode("png"));
}

/**
 * Width and height of a PNG, read from its IHDR chunk.
 *
 * @example
 * const { width, height } = pngSize(await renderTextImage(["hi"], { font: "latin" }));
 */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (png.byteLength < 24 || view.getUint32(12) !== 0x49484452) throw new Error("not a PNG (no IHDR chunk)");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function thaiFamily(): string {
  if (!GlobalFonts.has(THAI_FAMILY)) {
    const path = findThaiFont();
    if (path === null) throw new Error("no Thai font installed: install fonts-thai-tlwg");
    GlobalFonts.registerFromPath(path, THAI_FAMILY);
  }
  return THAI_FAMILY;
}

function latinFamily(): string {
  // @napi-rs/canvas loads the system's fonts; DejaVu ships with most Linux images. Otherwise its default face.
  return GlobalFonts.has("DejaVu Sans") ? "DejaVu Sans" : "sans-serif";
}
