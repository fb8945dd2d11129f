import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

/** Where `proto/sluice/model/v1/*.proto` live (the repository's `proto/` folder). */
export const PROTO_ROOT = fileURLToPath(new URL("../../../proto", import.meta.url));

const FILES = ["embed.proto", "rerank.proto", "ocr.proto", "info.proto"].map((f) => `sluice/model/v1/${f}`);

/** The model services by their short names; each is also a grpc.health.v1 service name. */
export const MODEL_SERVICES = {
  embed: "sluice.model.v1.Embedder",
  sparse: "sluice.model.v1.SparseEncoder",
  rerank: "sluice.model.v1.Reranker",
  ocr: "sluice.model.v1.Ocr",
  info: "sluice.model.v1.Info",
} as const;
export type ModelServiceName = keyof typeof MODEL_SERVICES;

export interface ModelProto {
  embed: grpc.ServiceClientConstructor;
  sparse: grpc.ServiceClientConstructor;
  rerank: grpc.ServiceClientConstructor;
  ocr: grpc.ServiceClientConstructor;
  info: grpc.ServiceClientConstructor;
}

let loaded: ModelProto | undefined;

/**
 * The model services, loaded once per process from the .proto files with @grpc/proto-loader
 * (no generated code to keep in step). Fields are camelCase, 64-bit integers arrive as numbers,
 * enums as their names, and unset fields with their defaults.
 *
 * @example
 * const { embed } = modelProto();
 * const client = new embed("127.0.0.1:50051", grpc.credentials.createInsecure());
 */
export function modelProto(): ModelProto {
  if (loaded) return loaded;
  const definition = loadSync(FILES, {
    includeDirs: [PROTO_ROOT],
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    sluice: { model: { v1: Record<string, grpc.ServiceClientConstructor> } };
  };
  const v1 = root.sluice.model.v1;
  const service = (name: string): grpc.ServiceClientConstructor => {
    const ctor = v1[name];
    if (!ctor) throw new Error(`proto: service sluice.model.v1.${name} missing from ${PROTO_ROOT}`);
    return ctor;
  };
  loaded = {
    embed: service("Embedder"),
    sparse: service("SparseEncoder"),
    rerank: service("Reranker"),
    ocr: service("Ocr"),
    info: service("Info"),
  };
  return loaded;
}
