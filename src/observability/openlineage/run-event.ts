import { createHash } from "node:crypto";

/**
 * The OpenLineage core spec Sluice writes (`schemaURL` of every event).
 *
 * @example
 * event.schemaURL === OPENLINEAGE_SCHEMA_URL;
 */
export const OPENLINEAGE_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

/**
 * The base of Sluice's own facet schema ids. The schemas are the files in
 * `src/observability/openlineage/facets/`, each with its `$id` under this base; consumers treat
 * `_schemaURL` as the facet's identity and do not fetch it.
 *
 * @example
 * `${SLUICE_FACETS_BASE}/1-0-0/SluiceModelRunFacet.json`;
 */
export const SLUICE_FACETS_BASE = "https://sluice.dev/spec/facets";

const FACET_SCHEMAS = {
  parent: "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet",
  errorMessage: "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
  jobType: "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
  sluice_model: `${SLUICE_FACETS_BASE}/1-0-0/SluiceModelRunFacet.json#/$defs/SluiceModelRunFacet`,
  sluice_job: `${SLUICE_FACETS_BASE}/1-0-0/SluiceJobRunFacet.json#/$defs/SluiceJobRunFacet`,
  sluice_stage: `${SLUICE_FACETS_BASE}/1-0-0/SluiceStageRunFacet.json#/$defs/SluiceStageRunFacet`,
} as const;

export type FacetName = keyof typeof FACET_SCHEMAS;

/** Every facet carries who wrote it and the schema it follows. */
export interface OpenLineageFacet {
  _producer: string;
  _schemaURL: string;
  [field: string]: unknown;
}

export interface OpenLineageDataset {
  namespace: string;
  name: string;
  facets?: Record<string, OpenLineageFacet>;
}

export type RunEventType = "START" | "RUNNING" | "COMPLETE" | "ABORT" | "FAIL" | "OTHER";

/** An OpenLineage 2-0-2 RunEvent, as posted to the collector. */
export interface OpenLineageRunEvent {
  eventType: RunEventType;
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: { runId: string; facets?: Record<string, OpenLineageFacet> };
  job: { namespace: string; name: string; facets?: Record<string, OpenLineageFacet> };
  inputs?: OpenLineageDataset[];
  outputs?: OpenLineageDataset[];
}

/**
 * A facet with its `_producer` and `_schemaURL` filled in.
 *
 * @example
 * facet("https://sluice.dev/sluice/0.1.0", "sluice_model", { id: "use-lite@energetic-ai-0.2.0" });
 */
export function facet(producer: string, name: FacetName, fields: Record<string, unknown>): OpenLineageFacet {
  return { _producer: producer, _schemaURL: FACET_SCHEMAS[name], ...fields };
}

/**
 * The model facet: `use-lite@energetic-ai-0.2.0` → name `use-lite`, version `energetic-ai-0.2.0`.
 *
 * @example
 * modelFacet("https://sluice.dev/sluice/0.1.0", "hash-64").name; // "hash-64"
 */
export function modelFacet(producer: string, modelId: string): OpenLineageFacet {
  const at = modelId.indexOf("@");
  const [name, version] = at > 0 ? [modelId.slice(0, at), modelId.slice(at + 1)] : [modelId, null];
  return facet(producer, "sluice_model", {
    role: "dense-embedder",
    id: modelId,
    name,
    ...(version ? { version } : {}),
  });
}

/** Namespace of Sluice's name-based run ids (UUID v5). */
const RUN_ID_NAMESPACE = Buffer.from("d4647d37232c478d8f4158ebf5b70744", "hex");

/**
 * A UUID v5 (RFC 9562, name-based, SHA-1) of `name` in Sluice's namespace: the same job gets the
 * same run id in every process that reports on it.
 *
 * @example
 * nameUuid("job:job_01HV…"); // "5c7e…-…" (version nibble 5)
 */
export function nameUuid(name: string): string {
  const hash = createHash("sha1").update(RUN_ID_NAMESPACE).update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
