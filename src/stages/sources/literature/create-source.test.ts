import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../../config/load-config.ts";
import { createLiteratureSource } from "./create-source.ts";

describe("createLiteratureSource", () => {
  const config = parseConfig({
    sources: { openalex: { mailto: "me@example.org", apiKeyEnv: "TEST_OPENALEX_KEY" }, unpaywall: {} },
  });

  it("builds each adapter by its type", () => {
    const env = { TEST_OPENALEX_KEY: "k" };
    for (const type of ["clinicaltrials", "openalex", "pmc"]) {
      assert.equal(createLiteratureSource(type, config.sources, env).type, type);
    }
  });

  it("names the sources there are for an unknown type", () => {
    assert.throws(() => createLiteratureSource("arxiv", config.sources), {
      code: "UNKNOWN_SOURCE",
      message: 'unknown source "arxiv"; sources: clinicaltrials, openalex, pmc, unpaywall',
    });
  });

  it("refuses Unpaywall without a contact email, and a key variable that is not set", () => {
    assert.throws(() => createLiteratureSource("unpaywall", config.sources), {
      code: "CONFIG_INVALID",
      message: /sources\.unpaywall\.email/,
    });
    assert.throws(() => createLiteratureSource("openalex", config.sources, {}), {
      code: "CONFIG_INVALID",
      message: /TEST_OPENALEX_KEY, which is not set/,
    });
  });

  it("refuses a base URL that is not http(s) and a bad contact email when the config loads", () => {
    assert.throws(() => parseConfig({ sources: { pmc: { baseUrl: "ftp://x" } } }), { code: "CONFIG_INVALID" });
    assert.throws(() => parseConfig({ sources: { openalex: { mailto: "nobody" } } }), { code: "CONFIG_INVALID" });
  });
});
