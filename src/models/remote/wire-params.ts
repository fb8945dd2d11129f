import type { DevicePreference, ModelParams } from "../ports.ts";
import { validateModelParams } from "../model-params.ts";
import type { DevicePreferenceWire, ModelParamsWire, TextKindWire } from "./messages.ts";

const TO_WIRE: Record<DevicePreference, DevicePreferenceWire> = {
  cpu: "DEVICE_PREFERENCE_CPU",
  "gpu-preferred": "DEVICE_PREFERENCE_GPU_PREFERRED",
  "gpu-required": "DEVICE_PREFERENCE_GPU_REQUIRED",
};

/**
 * Model parameters as the proto carries them (unset fields stay unset, so the server's defaults apply).
 *
 * @example
 * client.Embed({ texts, params: paramsToWire({ device: "gpu-preferred" }) }, callback);
 */
export function paramsToWire(params: ModelParams | undefined): ModelParamsWire {
  const wire: ModelParamsWire = {};
  if (!params) return wire;
  if (params.device) wire.device = TO_WIRE[params.device];
  if (params.batchSize !== undefined) wire.batchSize = params.batchSize;
  if (params.keepAliveMs !== undefined) wire.keepAliveMs = params.keepAliveMs;
  if (params.languages !== undefined) wire.languages = params.languages;
  if (params.minConfidence !== undefined) wire.minConfidence = params.minConfidence;
  return wire;
}

/**
 * Parameters of an incoming request, validated with the stage-config schema (VALIDATION_FAILED,
 * which the server answers as INVALID_ARGUMENT). proto3 `optional` fields that were not sent
 * arrive as undefined or null.
 *
 * @example
 * const params = paramsFromWire(call.request.params, "Embed");
 */
export function paramsFromWire(wire: ModelParamsWire | null | undefined, where: string): ModelParams {
  if (!wire) return {};
  const device = (Object.keys(TO_WIRE) as DevicePreference[]).find((d) => TO_WIRE[d] === wire.device);
  const raw: Record<string, unknown> = {
    device,
    batchSize: wire.batchSize,
    keepAliveMs: wire.keepAliveMs,
    languages: wire.languages,
    minConfidence: wire.minConfidence,
  };
  for (const key of Object.keys(raw)) if (raw[key] === undefined || raw[key] === null) delete raw[key];
  return validateModelParams(raw, where);
}

type TextKind = "query" | "passage";
const KIND_TO_WIRE: Record<TextKind, TextKindWire> = { query: "TEXT_KIND_QUERY", passage: "TEXT_KIND_PASSAGE" };

/**
 * The text kind of an Embed or EmbedSparse request.
 *
 * @example
 * client.Embed({ texts, kind: kindToWire("query") }, callback);
 */
export function kindToWire(kind: TextKind | undefined): TextKindWire {
  return kind ? KIND_TO_WIRE[kind] : "TEXT_KIND_UNSPECIFIED";
}

/**
 * The text kind a request carries, or undefined when unspecified.
 *
 * @example
 * const kind = kindFromWire(call.request.kind);
 */
export function kindFromWire(wire: TextKindWire | undefined): TextKind | undefined {
  return wire === "TEXT_KIND_QUERY" ? "query" : wire === "TEXT_KIND_PASSAGE" ? "passage" : undefined;
}
