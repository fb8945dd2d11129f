/**
 * The wire messages of `proto/sluice/model/v1`, as @grpc/proto-loader hands them over
 * (camelCase, enums as names, 64-bit integers as numbers). Hand-written to match the .proto files;
 * the round-trip tests in `tests/grpc-models.test.ts` keep them honest.
 */
export type DevicePreferenceWire =
  | "DEVICE_PREFERENCE_UNSPECIFIED"
  | "DEVICE_PREFERENCE_CPU"
  | "DEVICE_PREFERENCE_GPU_PREFERRED"
  | "DEVICE_PREFERENCE_GPU_REQUIRED";
export type TextKindWire = "TEXT_KIND_UNSPECIFIED" | "TEXT_KIND_QUERY" | "TEXT_KIND_PASSAGE";
export type ResidencyWire = "RESIDENCY_UNSPECIFIED" | "RESIDENCY_UNLOADED" | "RESIDENCY_LOADING" | "RESIDENCY_LOADED";

export interface ModelParamsWire {
  device?: DevicePreferenceWire;
  batchSize?: number;
  keepAliveMs?: number;
  languages?: string;
  minConfidence?: number;
}

export interface CallTimingWire {
  queueTimeNs: number;
  inferenceTimeNs: number;
  device: string;
}

export interface EmbedRequestWire {
  texts: string[];
  kind?: TextKindWire;
  params?: ModelParamsWire | null;
}

export interface EmbedReplyWire {
  model: string;
  dimensions: number;
  vectors: Uint8Array;
  count: number;
  timing: CallTimingWire | null;
}

export interface SparseVectorWire {
  terms: string[];
  weights: number[];
}

export interface EmbedSparseReplyWire {
  model: string;
  vectors: SparseVectorWire[];
  timing: CallTimingWire | null;
}

export interface RerankRequestWire {
  query: string;
  passages: string[];
  params?: ModelParamsWire | null;
}

export interface RerankReplyWire {
  model: string;
  scores: number[];
  timing: CallTimingWire | null;
}

export interface OcrRequestWire {
  data: Uint8Array;
  mediaType: string;
  page?: number | null;
  params?: ModelParamsWire | null;
}

export interface OcrWordWire {
  text: string;
  confidence: number;
  bbox: { x0: number; y0: number; x1: number; y1: number } | null;
}

export interface OcrReplyWire {
  model: string;
  text: string;
  confidence: number;
  words: OcrWordWire[];
  languages: string;
  timing: CallTimingWire | null;
}

export interface ModelInfoWire {
  service: string;
  model: string;
  dimensions: number;
  languages: string[];
  device: string;
  residency: ResidencyWire;
  keepAliveMs: number;
  idleMs: number;
}

export interface GetInfoReplyWire {
  serverVersion: string;
  models: ModelInfoWire[];
  gpus: Array<{ index: number; name: string; memoryTotalMib: number; memoryUsedMib: number }>;
}
