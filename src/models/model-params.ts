import { z } from "zod";
import { SluiceError } from "../contracts/errors.ts";
import type { ModelParams } from "./ports.ts";

/**
 * Model runtime parameters as a stage config declares them (`embed.dense`, `ocr.pages`, …) and
 * as a model server checks them on every request. One schema for both, so what a pipeline file
 * accepts is exactly what the server accepts.
 *
 * @example
 * nodes: [{ name: embed, type: embed.dense, config: { device: gpu-preferred, batchSize: 32, keepAliveMs: 600000 } }]
 */
export const ModelParamsSchema = z
  .object({
    device: z.enum(["cpu", "gpu-preferred", "gpu-required"]).optional(),
    batchSize: z.number().int().min(1).max(4096).optional(),
    keepAliveMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 60 * 60 * 1000)
      .optional(),
    languages: z
      .string()
      .regex(/^[a-z_]{3,}(\+[a-z_]{3,})*$/, "languages are tesseract codes joined by +, e.g. eng+tha")
      .optional(),
    minConfidence: z.number().min(0).max(100).optional(),
  })
  .strict();

/**
 * Checks parameters that arrived from outside (a request); throws VALIDATION_FAILED naming the field.
 *
 * @example
 * const params = validateModelParams({ batchSize: 32 }, "Embed request");
 */
export function validateModelParams(raw: unknown, where: string): ModelParams {
  const parsed = ModelParamsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SluiceError(
      "VALIDATION_FAILED",
      `${where}: params.${issue?.path.join(".") || "?"}: ${issue?.message ?? "invalid"}`,
      { details: { where } },
    );
  }
  return Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
}

/**
 * The parameters of a stage config, without the stage's other fields (undefined ones dropped).
 *
 * @example
 * embedder.embed(texts, { params: pickModelParams(config) });
 */
export function pickModelParams(config: ModelParams): ModelParams {
  const out: ModelParams = {};
  if (config.device !== undefined) out.device = config.device;
  if (config.batchSize !== undefined) out.batchSize = config.batchSize;
  if (config.keepAliveMs !== undefined) out.keepAliveMs = config.keepAliveMs;
  if (config.languages !== undefined) out.languages = config.languages;
  if (config.minConfidence !== undefined) out.minConfidence = config.minConfidence;
  return out;
}
