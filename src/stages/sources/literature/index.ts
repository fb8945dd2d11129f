export { PmcSource, type OpenAccessLink, type PmcSourceOptions } from "./pmc.ts";
export { requireOpenAccess, UnpaywallSource, type UnpaywallSourceOptions } from "./unpaywall.ts";
