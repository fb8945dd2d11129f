import { z } from "zod";
import {
  ChunksSchema,
  DenseVectorsSchema,
  DocumentRefSchema,
  IndexResultSchema,
  ParsedDocumentSchema,
  RawDocumentSchema,
  SparseVectorsSchema,
} from "../contracts/index.ts";
import { AnswerSchema, QuerySchema, RankedChunksSchema, RankedRowsSchema } from "../contracts/query.ts";

/**
 * The types that may travel along a connection. Stages name their ports with these, so the
 * engine can check a wiring while the pipeline is built and validate every value at run time.
 */
export const PORT_TYPES = {
  DocumentRef: DocumentRefSchema,
  RawDocument: RawDocumentSchema,
  ParsedDocument: ParsedDocumentSchema,
  Chunks: ChunksSchema,
  DenseVectors: DenseVectorsSchema,
  SparseVectors: SparseVectorsSchema,
  IndexResult: IndexResultSchema,
  Query: QuerySchema,
  RankedRows: RankedRowsSchema,
  RankedChunks: RankedChunksSchema,
  Answer: AnswerSchema,
} as const satisfies Record<string, z.ZodType>;

export type PortTypeName = keyof typeof PORT_TYPES;
/** A port is a type name; a trailing `?` makes an input optional. */
export type PortSpec = PortTypeName | `${PortTypeName}?`;
export type PortMap = Record<string, PortSpec>;

type BaseName<S extends PortSpec> = S extends `${infer N}?` ? N : S;
type PortValue<S extends PortSpec> = z.output<(typeof PORT_TYPES)[BaseName<S> & PortTypeName]>;
type OptionalKeys<M extends PortMap> = { [K in keyof M]: M[K] extends `${string}?` ? K : never }[keyof M];
type RequiredKeys<M extends PortMap> = Exclude<keyof M, OptionalKeys<M>>;

/** The value type of a whole port map: `{ document: ParsedDocument; dense?: DenseVectors }`. */
export type PortValues<M extends PortMap> = { [K in RequiredKeys<M>]: PortValue<M[K]> } & {
  [K in OptionalKeys<M>]?: PortValue<M[K]>;
};

export function parsePortSpec(spec: PortSpec): { type: PortTypeName; optional: boolean } {
  const optional = spec.endsWith("?");
  return { type: (optional ? spec.slice(0, -1) : spec) as PortTypeName, optional };
}
