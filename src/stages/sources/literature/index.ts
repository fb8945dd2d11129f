export { ClinicalTrialsSource, type ClinicalTrialsOptions } from "./clinicaltrials.ts";
export { OpenAlexSource, type OpenAlexOptions } from "./openalex.ts";
