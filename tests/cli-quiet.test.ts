import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { ROOT } from "./helpers/cli.ts";

describe("the CLI as users run it", () => {
  it("`npx sluice --help` prints its help and no npm warning first", () => {
    const run = spawnSync("npx", ["--no-install", "sluice", "--help"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Usage: sluice/);
    assert.doesNotMatch(run.stderr, /npm warn/i, run.stderr);
  });
});
