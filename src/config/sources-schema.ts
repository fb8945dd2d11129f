import { z } from "zod";

/** Where one API is and how often it may be called (requests per second, a token bucket per host). */
const api = (baseUrl: string, perSecond: number) => ({
  baseUrl: z.url({ protocol: /^https?$/ }).default(baseUrl),
  perSecond: z.number().positive().default(perSecond),
});

/**
 * The scholarly APIs (`sources:` in sluice.yaml): base URLs (tests point them at a replay server),
 * contacts, where API keys live (the name of an environment variable, never the key) and each
 * API's documented pace as the default: ClinicalTrials.gov publishes none (its robots.txt asks
 * for 1 request/s); OpenAlex allows 100/s (10 here, a polite share); NCBI E-utilities 3/s without
 * a key and 10/s with one; Unpaywall 100,000 calls a day.
 *
 * @example
 * SourcesConfigSchema.parse({ openalex: { mailto: "me@example.org", apiKeyEnv: "OPENALEX_API_KEY" } });
 */
export const SourcesConfigSchema = z
  .object({
    /** Sent on every API call; NCBI and OpenAlex ask for a way to reach whoever runs the tool. */
    userAgent: z.string().min(1).default("sluice/0.1 (+https://sluice.dev)"),
    clinicaltrials: z.object(api("https://clinicaltrials.gov/api/v2", 1)).strict().prefault({}),
    openalex: z
      .object({
        ...api("https://api.openalex.org", 10),
        /** Contact address for OpenAlex's polite pool. */
        mailto: z.email().optional(),
        /** Environment variable holding the OpenAlex API key. */
        apiKeyEnv: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    pmc: z
      .object({
        ...api("https://eutils.ncbi.nlm.nih.gov/entrez/eutils", 3),
        /** The PMC OA web service (open-access package links). */
        oaBaseUrl: z.url({ protocol: /^https?$/ }).default("https://www.ncbi.nlm.nih.gov/pmc/utils/oa"),
        /** Environment variable holding the NCBI API key (raise `perSecond` to 10 with one). */
        apiKeyEnv: z.string().min(1).optional(),
        /** Tool name and developer email NCBI asks E-utilities clients to send. */
        tool: z.string().min(1).optional(),
        email: z.email().optional(),
      })
      .strict()
      .prefault({}),
    unpaywall: z
      .object({
        ...api("https://api.unpaywall.org/v2", 10),
        /** Required by Unpaywall on every call; a source run without it stops with CONFIG_INVALID. */
        email: z.email().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});
export type SourcesConfig = z.infer<typeof SourcesConfigSchema>;
