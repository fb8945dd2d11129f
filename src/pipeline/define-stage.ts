import type { z } from "zod";
import type { PortMap, PortValues } from "./port-types.ts";
import type { StageServices } from "./services.ts";

/** What a stage sees of the run it is part of. */
export interface StageContext {
  jobId: string;
  docId: string;
  collection: string;
  /** Aborted on cancel, on timeout, or when a sibling branch failed. Pass it to I/O. */
  signal: AbortSignal;
  /** 1 on the first try, higher on retries. */
  attempt: number;
  /** When this attempt times out (epoch ms), if its policy has a timeout: pass it to remote calls as their deadline. */
  deadline?: number;
  /** W3C trace context of the document's run, for calls to other processes. */
  traceparent?: string;
  tenantId?: string;
  /** When the document was accepted (epoch ms): what a gate's deadline counts from. */
  acceptedAt?: number;
  /** Records a milestone of the document in the ledger (`pdf_downloaded`, `pdf_ir_ready`). */
  mark?: (milestone: string) => void;
}

export interface StageInstance<I, O> {
  /** Opens heavy resources (models, connections). Called once before the first run. */
  warmUp?(): Promise<void>;
  execute(input: I, ctx: StageContext): Promise<O>;
}

/**
 * A stage type in the registry: typed ports, a config schema, and a factory. The constructor
 * of an instance only stores its config; `warmUp()` does the I/O.
 */
export interface StageDefinition<C = unknown, IM extends PortMap = PortMap, OM extends PortMap = PortMap> {
  /** Registry name used in YAML, e.g. `parse.auto`. */
  type: string;
  description: string;
  inputs: IM;
  outputs: OM;
  configSchema: z.ZodType<C>;
  create(config: C, services: StageServices): StageInstance<PortValues<IM>, PortValues<OM>>;
}

/**
 * Declares a stage. Input and output types are inferred from the port maps.
 *
 * @example
 * export const chunkDocument = defineStage({
 *   type: "chunk.sentences",
 *   description: "Splits a parsed document into sentence-aligned chunks",
 *   inputs: { document: "ParsedDocument" },
 *   outputs: { chunks: "Chunks" },
 *   configSchema: z.object({ size: z.number().default(800) }),
 *   create: (config) => ({ execute: async ({ document }) => ({ chunks: split(document, config) }) }),
 * });
 */
export function defineStage<C, IM extends PortMap, OM extends PortMap>(
  definition: StageDefinition<C, IM, OM>,
): StageDefinition<C, IM, OM> {
  return definition;
}

/** A stage definition with its generics erased, as the registry holds it. */
/* eslint-disable-next-line @typescript-eslint/no-explicit-any --
   the registry stores stages of every config type; each is re-checked by its own configSchema */
export type AnyStageDefinition = StageDefinition<any, PortMap, PortMap>;
