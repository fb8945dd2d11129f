import type { SourcesConfig } from "../../../config/sources-schema.ts";
import { SluiceError } from "../../../contracts/errors.ts";
import { PoliteHttp, type HostLimit } from "../http/polite-http.ts";
import { ClinicalTrialsSource } from "./clinicaltrials.ts";
import { LITERATURE_SOURCES, type LiteratureSource, type LiteratureSourceType } from "./literature-source.ts";
import { OpenAlexSource } from "./openalex.ts";
import { PmcSource } from "./pmc.ts";
import { UnpaywallSource } from "./unpaywall.ts";

function isSourceType(type: string): type is LiteratureSourceType {
  return (LITERATURE_SOURCES as readonly string[]).includes(type);
}

/**
 * Refuses a source type that does not exist, naming those that do.
 *
 * @example
 * assertSourceType("arxiv"); // throws UNKNOWN_SOURCE: unknown source "arxiv"; sources: clinicaltrials, …
 */
export function assertSourceType(type: string): asserts type is LiteratureSourceType {
  if (!isSourceType(type)) {
    throw new SluiceError("UNKNOWN_SOURCE", `unknown source "${type}"; sources: ${LITERATURE_SOURCES.join(", ")}`, {
      details: { source: type, sources: [...LITERATURE_SOURCES] },
    });
  }
}

/** An API key from the environment variable the config names; a named but unset variable is an error. */
function keyFrom(variable: string | undefined, env: NodeJS.ProcessEnv, field: string): string | undefined {
  if (variable === undefined) return undefined;
  const value = env[variable];
  if (value === undefined || value === "") {
    throw new SluiceError("CONFIG_INVALID", `${field} names environment variable ${variable}, which is not set`, {
      details: { field, variable },
    });
  }
  return value;
}

/**
 * The adapter for a source type, configured from `sources:` (base URL, contact, API key read from
 * the variable the config names).
 *
 * @throws SluiceError `UNKNOWN_SOURCE` naming the types there are; `CONFIG_INVALID` for an
 *   Unpaywall run without `sources.unpaywall.email` or an API key variable that is not set
 *
 * @example
 * const source = createLiteratureSource("openalex", sluice.config.sources);
 */
export function createLiteratureSource(
  type: string,
  config: SourcesConfig,
  env: NodeJS.ProcessEnv = process.env,
): LiteratureSource {
  assertSourceType(type);
  switch (type) {
    case "clinicaltrials":
      return new ClinicalTrialsSource({ baseUrl: config.clinicaltrials.baseUrl });
    case "openalex": {
      const apiKey = keyFrom(config.openalex.apiKeyEnv, env, "sources.openalex.apiKeyEnv");
      return new OpenAlexSource({
        baseUrl: config.openalex.baseUrl,
        ...(config.openalex.mailto ? { mailto: config.openalex.mailto } : {}),
        ...(apiKey ? { apiKey } : {}),
      });
    }
    case "pmc": {
      const apiKey = keyFrom(config.pmc.apiKeyEnv, env, "sources.pmc.apiKeyEnv");
      return new PmcSource({
        baseUrl: config.pmc.baseUrl,
        oaBaseUrl: config.pmc.oaBaseUrl,
        ...(apiKey ? { apiKey } : {}),
        ...(config.pmc.tool ? { tool: config.pmc.tool } : {}),
        ...(config.pmc.email ? { email: config.pmc.email } : {}),
      });
    }
    case "unpaywall":
      if (!config.unpaywall.email) {
        throw new SluiceError(
          "CONFIG_INVALID",
          "sources.unpaywall.email is not set: Unpaywall requires a contact email",
          {
            details: { field: "sources.unpaywall.email" },
          },
        );
      }
      return new UnpaywallSource({ baseUrl: config.unpaywall.baseUrl, email: config.unpaywall.email });
  }
}

/**
 * One HTTP client for every source, each API host held to its configured pace.
 *
 * @example
 * const http = createSourceHttp(sluice.config.sources);
 * const page = await source.fetchPage({ query: "stem cells" }, null, { http, signal });
 */
export function createSourceHttp(config: SourcesConfig): PoliteHttp {
  const hosts: Record<string, HostLimit> = {};
  const pace = (url: string, perSecond: number) => (hosts[new URL(url).hostname] = { perSecond });
  pace(config.clinicaltrials.baseUrl, config.clinicaltrials.perSecond);
  pace(config.openalex.baseUrl, config.openalex.perSecond);
  pace(config.pmc.baseUrl, config.pmc.perSecond);
  pace(config.pmc.oaBaseUrl, config.pmc.perSecond);
  pace(config.unpaywall.baseUrl, config.unpaywall.perSecond);
  return new PoliteHttp({ userAgent: config.userAgent, hosts });
}
