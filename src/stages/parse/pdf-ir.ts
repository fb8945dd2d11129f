import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { PageSchema, type Page, type RawDocument } from "../../contracts/index.ts";
import { toSluiceError } from "../../contracts/errors.ts";
import type { ModelParams } from "../../models/ports.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import { modelCallOptions } from "../embed/model-call-options.ts";
import { GateWaitSchema, isAway, suspend } from "../gate-wait.ts";
import { keepFile } from "../keep-file.ts";
import { ParseAutoConfigSchema, toParsedDocument } from "./bytes-to-document.ts";
import { parseBytes, type ParsedBytes } from "./formats/index.ts";
import { ocrPdfPages } from "./ocr-pdf-pages.ts";

/**
 * A parsed PDF as phase one leaves it for phase two: its pages (text per page, which were OCR'd and
 * with what confidence) and their blocks, kept at `<data>/artifacts/pdf-ir/<sha256>-<ocr settings>.json`.
 */
export const PdfIrSchema = z.object({
  version: z.literal(1),
  sha256: z.string().length(64),
  ocr: z.object({ languages: z.string(), minConfidence: z.number().optional() }),
  title: z.string(),
  pages: z.array(PageSchema),
  /** Each page's text blocks (paragraphs: runs of lines between blank lines), in reading order. */
  blocks: z.array(z.object({ page: z.number().int().positive(), text: z.string(), method: PageSchema.shape.method })),
  /** Numbers of the pages read by OCR. */
  ocrPages: z.array(z.number().int().positive()),
  createdAt: z.string(),
});
export type PdfIr = z.infer<typeof PdfIrSchema>;

const PartialSchema = z.object({ pages: z.array(PageSchema) });

const PdfIrConfigSchema = ParseAutoConfigSchema.extend({ wait: GateWaitSchema }).strict();

function isPdf(raw: RawDocument): boolean {
  return raw.mediaType === "application/pdf" || Buffer.from(raw.bytes.subarray(0, 5)).toString("latin1") === "%PDF-";
}

/** A page's paragraphs (split at blank lines), each with its page and how its text was read. */
function blocksOf(pages: readonly Page[]): PdfIr["blocks"] {
  return pages.flatMap((p) =>
    p.text
      .split(/\n\s*\n/)
      .map((text) => text.trim())
      .filter((text) => text !== "")
      .map((text) => ({ page: p.number, text, method: p.method })),
  );
}

async function readJson<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // a damaged file is rebuilt, not trusted
  }
}

/**
 * Phase one of the two-phase PDF gate: parses a PDF to its IR (pages, the text layer where it is
 * sound, OCR where it is missing or broken) and keeps it as an artifact, recording the milestone
 * `pdf_ir_ready`; phase two (chunk, embed, index) runs only on a ready IR. While the IR cannot be
 * made because the OCR service is away, the document waits (suspended on `ocr-ready`, no lease held,
 * no attempt spent), is tried again every `wait.recheckMs`, and fails with `GATE_DEADLINE_EXCEEDED`
 * `wait.deadlineMs` after it was accepted. Pages OCR'd before a suspension or a crash are kept
 * (a `.partial.json` beside the artifact) and not read again. The same PDF with the same OCR
 * settings reuses its artifact, in any job. Documents that are not PDFs are parsed as `parse.auto`
 * parses them.
 *
 * @example
 * nodes: [{ name: ir, type: parse.pdf-ir, policy: parse, config: { wait: { recheckMs: 30000 } } }]
 */
export const pdfIr = defineStage({
  type: "parse.pdf-ir",
  description:
    "Two-phase PDF gate, phase one: parses a PDF (OCR for scanned or broken pages) to an IR artifact; waits while OCR is away",
  inputs: { document: "RawDocument" },
  outputs: { document: "ParsedDocument" },
  configSchema: PdfIrConfigSchema,
  create: (config, services) => {
    const params: ModelParams = {
      languages: config.ocr.languages ?? services.config.ocr.languages,
      ...(config.ocr.minConfidence !== undefined ? { minConfidence: config.ocr.minConfidence } : {}),
    };
    const settings = createHash("sha256")
      .update(JSON.stringify([config.ocr.enabled, params.languages, params.minConfidence ?? null]))
      .digest("hex")
      .slice(0, 12);
    const dir = join(services.dataDir, "artifacts", "pdf-ir");
    return {
      execute: async ({ document: raw }, ctx) => {
        if (!isPdf(raw)) return { document: toParsedDocument(raw, await parseBytes(raw)) };
        const sha256 = createHash("sha256").update(raw.bytes).digest("hex");
        const name = `${sha256}-${settings}`;
        const artifact = join(dir, `${name}.json`);
        let ir = await readJson(artifact, PdfIrSchema);
        if (!ir) {
          const parsed = await parseBytes(raw, { allowEmptyPdfText: config.ocr.enabled });
          let pages = parsed.pages ?? [];
          if (config.ocr.enabled) {
            const partialPath = join(dir, `${name}.partial.json`);
            const done = new Map((await readJson(partialPath, PartialSchema))?.pages.map((p) => [p.number, p]));
            const save = async (page: Page) => {
              done.set(page.number, page);
              await keepFile(dir, `${name}.partial.json`, Buffer.from(JSON.stringify({ pages: [...done.values()] })));
            };
            try {
              pages = await ocrPdfPages(raw.bytes, pages, services.ocr(), modelCallOptions(ctx, params), undefined, {
                done,
                save,
              });
            } catch (err) {
              if (ctx.signal.aborted || !isAway(err)) throw err;
              const left = pages.length - done.size;
              suspend(
                ctx,
                config.wait,
                "ocr-ready",
                `OCR is unavailable (${toSluiceError(err).message}); ${done.size} of ${pages.length} page(s) read, ${left} to go`,
              );
            }
            await rm(partialPath, { force: true });
          }
          ir = {
            version: 1,
            sha256,
            ocr: {
              languages: params.languages ?? "",
              ...(params.minConfidence !== undefined ? { minConfidence: params.minConfidence } : {}),
            },
            title: parsed.title,
            pages,
            blocks: blocksOf(pages),
            ocrPages: pages.filter((p) => p.method === "ocr").map((p) => p.number),
            createdAt: new Date().toISOString(),
          };
          await keepFile(dir, `${name}.json`, Buffer.from(JSON.stringify(ir)));
        }
        ctx.mark?.("pdf_ir_ready");
        const parsed: ParsedBytes = {
          title: ir.title,
          text: ir.pages.map((p) => p.text).join("\n\n"),
          mediaType: "application/pdf",
          pages: ir.pages,
        };
        const document = toParsedDocument(raw, parsed, ir.pages);
        return { document: { ...document, meta: { ...document.meta, pdfIr: artifact, ocrPages: ir.ocrPages } } };
      },
    };
  },
});
