import assert from "node:assert/strict";
import { parseConfig } from "../config/load-config.ts";
import type { StageServices } from "./services.ts";

/**
 * Stage services for tests that build pipelines or stages: the default config, a data folder that
 * does not exist, and every model or store failing the test if a stage reaches for it; `overrides`
 * supply what the test does use.
 *
 * @example
 * const services = testServices({ ocr: () => fakeOcr, config: parseConfig({ ocr: { languages: "tha" } }) });
 */
export function testServices(overrides: Partial<StageServices> = {}): StageServices {
  return {
    config: parseConfig({}),
    dataDir: "/nonexistent/sluice-data",
    store: () => assert.fail("store not used"),
    embedder: () => assert.fail("embedder not used"),
    sparseEncoder: () => assert.fail("sparse not used"),
    ocr: () => assert.fail("ocr not used"),
    reranker: () => assert.fail("reranker not used"),
    answerer: () => assert.fail("answerer not used"),
    ...overrides,
  };
}
