export { ClinicalTrialsSource, type ClinicalTrialsOptions } from "./clinicaltrials.ts";
export { OpenAlexSource, type OpenAlexOptions } from "./openalex.ts";
export { PmcSource, type OpenAccessLink, type PmcSourceOptions } from "./pmc.ts";
export { requireOpenAccess, UnpaywallSource, type UnpaywallSourceOptions } from "./unpaywall.ts";
export { createLiteratureSource, createSourceHttp } from "./create-source.ts";
export * from "./literature-source.ts";
