import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { json, runCli, workspace } from "./helpers/cli.ts";

const PASSWORD = "s3cr3t-pg-pass";
const ws = workspace(
  `embedder:\n  backend: hash\n  dimensions: 64\npostgres:\n  url: postgres://sluice:${PASSWORD}@file-db:5432/sluice\nspool:\n  leaseMs: 45000\nlineage:\n  url: http://marquez:5000\n  apiKeyEnv: SLUICE_TEST_LINEAGE_KEY\n`,
);
after(() => rmSync(ws.dir, { recursive: true, force: true }));

interface Shown {
  config: {
    postgres: { url: string };
    redis: { url?: string };
    logging: { level: string };
    spool: { leaseMs: number };
  };
  sources: Record<string, string>;
  secrets: Record<string, { set: boolean; env?: string; file?: string }>;
}

describe("sluice config show", () => {
  const env = {
    SLUICE_REDIS_URL: `redis://:${PASSWORD}@redis:6379`,
    SLUICE_LOG_LEVEL: "debug",
    SLUICE_TEST_LINEAGE_KEY: "lineage-key-value",
    SLUICE_AUTH_JWT_SECRET: "jwt-secret-value",
    SLUICE_INTERNAL_SECRET: undefined,
  };

  it("--json: the effective config, where each leaf came from and which secrets are set; no secret value anywhere", async () => {
    const out = await runCli(["--config", ws.config, "--json", "config", "show"], { env });
    assert.equal(out.code, 0, out.stderr);
    const shown = json<Shown>(out);
    assert.equal(shown.config.postgres.url, "postgres://sluice:***@file-db:5432/sluice");
    assert.equal(shown.config.redis.url, "redis://:***@redis:6379");
    assert.equal(shown.config.logging.level, "debug");
    assert.equal(shown.config.spool.leaseMs, 45000);
    assert.equal(shown.sources["postgres.url"], "file");
    assert.equal(shown.sources["redis.url"], "env:SLUICE_REDIS_URL");
    assert.equal(shown.sources["logging.level"], "env:SLUICE_LOG_LEVEL");
    assert.equal(shown.sources["spool.leaseMs"], "file");
    assert.equal(shown.sources["spool.maxAttempts"], "default");
    assert.deepEqual(shown.secrets["auth.jwtSecret"], { set: true, env: "SLUICE_AUTH_JWT_SECRET" });
    assert.deepEqual(shown.secrets["auth.internalSecret"], { set: false, env: "SLUICE_INTERNAL_SECRET" });
    assert.deepEqual(shown.secrets["lineage.apiKey"], { set: true, env: "SLUICE_TEST_LINEAGE_KEY" });
    for (const secret of [PASSWORD, "lineage-key-value", "jwt-secret-value"])
      assert.ok(!out.stdout.includes(secret), `${secret} leaked`);
  });

  it("prints one line per leaf with its source, env beating the file", async () => {
    const out = await runCli(["--config", ws.config, "config", "show"], {
      env: { ...env, SLUICE_DATABASE_URL: `postgres://sluice:${PASSWORD}@env-db/sluice` },
    });
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.split("\n");
    assert.equal(lines[0], "environment = development  (default)");
    assert.ok(
      lines.includes("postgres.url = postgres://sluice:***@env-db/sluice  (env SLUICE_DATABASE_URL)"),
      out.stdout,
    );
    assert.ok(lines.includes("spool.leaseMs = 45000  (file)"));
    assert.ok(lines.includes("models.threads = auto  (default)"), out.stdout);
    assert.ok(lines.includes("auth.jwtSecret = set  (env SLUICE_AUTH_JWT_SECRET)"));
    assert.ok(!out.stdout.includes(PASSWORD));
  });

  it("shows the model threads an env variable sets", async () => {
    const out = await runCli(["--config", ws.config, "config", "show"], { env: { SLUICE_MODEL_THREADS: "2" } });
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdout.split("\n").includes("models.threads = 2  (env SLUICE_MODEL_THREADS)"), out.stdout);
  });

  it("a bad environment value: exit 1, CONFIG_INVALID naming the variable", async () => {
    const out = await runCli(["--config", ws.config, "config", "show"], { env: { SLUICE_MODELS: "cloud" } });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^error CONFIG_INVALID: env SLUICE_MODELS: "cloud" is not one of in-process, remote/);
  });
});
