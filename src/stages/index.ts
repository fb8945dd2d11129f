import { StageRegistry } from "../pipeline/registry.ts";
import { sentenceChunker } from "./chunk/sentence-chunker.ts";
import { denseEmbed } from "./embed/dense-embed.ts";
import { sparseExpand } from "./embed/sparse-expand.ts";
import { indexWrite } from "./index/index-write.ts";
import { skipUnchanged } from "./index/skip-unchanged.ts";
import { bytesToDocument } from "./parse/bytes-to-document.ts";
import { pdfIr } from "./parse/pdf-ir.ts";
import { downloadPdf } from "./sources/download-pdf.ts";
import { loadDocument } from "./sources/load-document.ts";

/** The stage types shipped with Sluice: the allow-list YAML topologies draw from. */
export function builtinStages(): StageRegistry {
  return new StageRegistry().register(
    loadDocument,
    downloadPdf,
    bytesToDocument,
    pdfIr,
    skipUnchanged,
    sentenceChunker,
    denseEmbed,
    sparseExpand,
    indexWrite,
  );
}

export {
  loadDocument,
  downloadPdf,
  bytesToDocument,
  pdfIr,
  skipUnchanged,
  sentenceChunker,
  denseEmbed,
  sparseExpand,
  indexWrite,
};
