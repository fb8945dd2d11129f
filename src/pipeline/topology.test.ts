import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { dumpTopology, loadTopology } from "./topology.ts";

const AUTO = new URL("../../pipelines/auto.yaml", import.meta.url);

describe("topology YAML", () => {
  for (const name of ["auto", "hybrid-sparse"]) {
    it(`round-trips the shipped ${name}.yaml byte for byte: dump(load(x)) === x`, () => {
      const text = readFileSync(new URL(`../../pipelines/${name}.yaml`, import.meta.url), "utf8");
      assert.equal(dumpTopology(loadTopology(text, `${name}.yaml`)), text);
    });
  }

  it("rejects invalid YAML naming the file", () => {
    assert.throws(
      () => loadTopology("nodes: [\n  - name: a\n    type: [", "broken.yaml"),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "PIPELINE_INVALID");
        assert.match(err.message, /broken\.yaml: invalid YAML/);
        return true;
      },
    );
  });

  it("names the bad node and field", () => {
    const text = readFileSync(AUTO, "utf8").replace(
      "name: chunk\n    type: chunk.sentences",
      "name: chunk\n    type: chunk.sentences\n    colour: blue",
    );
    assert.throws(() => loadTopology(text, "x.yaml"), /node "chunk"/);
  });

  it("rejects a bad policy field", () => {
    const text = readFileSync(AUTO, "utf8").replace("attempts: 3", "attempts: -1");
    assert.throws(() => loadTopology(text, "x.yaml"), /policy "io" field "retry.attempts"/);
  });
});
