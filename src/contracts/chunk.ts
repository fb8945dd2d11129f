import { z } from "zod";

export const ChunkSchema = z.object({
  /** `${docId}#${ordinal}`: stable while the document's content is unchanged. */
  id: z.string(),
  docId: z.string(),
  ordinal: z.number().int().nonnegative(),
  text: z.string().min(1),
  /** Character offsets of the chunk in the parsed document's text. */
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  page: z.number().int().positive().optional(),
});
export type Chunk = z.infer<typeof ChunkSchema>;

export const ChunksSchema = z.array(ChunkSchema);

/** One dense vector per chunk, aligned by index with the chunk list. */
export const DenseVectorsSchema = z.object({
  model: z.string(),
  dimensions: z.number().int().positive(),
  vectors: z.array(z.custom<Float32Array>((v) => v instanceof Float32Array, "expected a Float32Array")),
});
export type DenseVectors = z.infer<typeof DenseVectorsSchema>;

/** Sparse term weights per chunk, aligned by index with the chunk list. */
export const SparseVectorsSchema = z.object({
  model: z.string(),
  vectors: z.array(z.record(z.string(), z.number())),
});
export type SparseVectors = z.infer<typeof SparseVectorsSchema>;

/** What the index stage reports back. */
export const IndexResultSchema = z.object({
  docId: z.string(),
  outcome: z.enum(["inserted", "replaced", "unchanged"]),
  chunks: z.number().int().nonnegative(),
});
export type IndexResult = z.infer<typeof IndexResultSchema>;
