import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ENV_OVERRIDES } from "./env-overrides.ts";
import { loadConfig, loadConfigWithSources } from "./load-config.ts";
import { SluiceConfigSchema } from "./schema.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function yaml(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("loadConfig", () => {
  it("env beats the file, the file beats the default", () => {
    const path = yaml(
      "layers.yaml",
      "logging:\n  level: warn\nredis:\n  url: redis://file:6379\nspool:\n  leaseMs: 45000\n",
    );
    const none = loadConfig({ path, explicit: true, env: {} });
    assert.equal(none.logging.level, "warn");
    assert.equal(none.redis.url, "redis://file:6379");
    assert.equal(none.spool.maxAttempts, 5, "default");
    const env = {
      SLUICE_LOG_LEVEL: "INFO",
      SLUICE_REDIS_URL: "redis://env:6379",
      SLUICE_MODELS: "remote",
      SLUICE_INGEST_ROOTS: "/srv/a::/srv/b",
      OTEL_SDK_DISABLED: "true",
      SLUICE_ENV: "production",
      SLUICE_MODEL_THREADS: "3",
    };
    const config = loadConfig({ path, explicit: true, env });
    assert.equal(config.logging.level, "info");
    assert.equal(config.redis.url, "redis://env:6379");
    assert.equal(config.spool.leaseMs, 45000);
    assert.equal(config.models.mode, "remote");
    assert.deepEqual(config.ingest.allowedRoots, ["/srv/a", "/srv/b"]);
    assert.equal(config.tracing.enabled, false);
    assert.equal(config.environment, "production");
    assert.equal(config.models.threads, 3);
    assert.equal(none.models.threads, "auto", "default");
    assert.equal(loadConfig({ path, env: { SLUICE_MODEL_THREADS: "AUTO" } }).models.threads, "auto");
    assert.equal(loadConfig({ path, env: { SLUICE_MODEL_THREADS: "0" } }).models.threads, 0);
  });

  it("an empty variable counts as unset", () => {
    const path = yaml("empty.yaml", "postgres:\n  url: postgres://sluice@file/db\n");
    const config = loadConfig({
      path,
      env: { SLUICE_DATABASE_URL: "", SLUICE_LOG_LEVEL: "", SLUICE_INGEST_ROOTS: ":" },
    });
    assert.equal(config.postgres.url, "postgres://sluice@file/db");
    assert.equal(config.logging.level, "silent");
    assert.equal(config.ingest.allowedRoots, undefined);
  });

  it("keeps the OTLP exporter semantics: the traces endpoint as is, the base endpoint plus /v1/traces, the traces endpoint winning", () => {
    const traces = (env: NodeJS.ProcessEnv) => loadConfig({ path: join(dir, "none.yaml"), env }).tracing.tracesUrl;
    assert.equal(traces({}), undefined);
    assert.equal(traces({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://b:4318/" }), "http://b:4318/v1/traces");
    assert.equal(traces({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://b:4318/otlp" }), "http://b:4318/otlp/v1/traces");
    assert.equal(traces({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318" }), "http://c:4318");
    assert.equal(
      traces({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://b:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces",
      }),
      "http://c:4318/v1/traces",
    );
    assert.equal(
      loadConfig({ env: { OTEL_SERVICE_NAME: "sluice-api" }, path: join(dir, "none.yaml") }).tracing.serviceName,
      "sluice-api",
    );
  });

  it("a bad environment value is CONFIG_INVALID naming the variable", () => {
    const path = join(dir, "none.yaml");
    assert.throws(() => loadConfig({ path, env: { SLUICE_LOG_LEVEL: "loud" } }), {
      code: "CONFIG_INVALID",
      message: /env SLUICE_LOG_LEVEL: "loud" is not one of silent, fatal/,
    });
    assert.throws(() => loadConfig({ path, env: { SLUICE_MODELS: "cloud" } }), {
      code: "CONFIG_INVALID",
      message: /env SLUICE_MODELS: "cloud" is not one of in-process, remote/,
    });
    for (const threads of ["-1", "1.5", "two"]) {
      assert.throws(() => loadConfig({ path, env: { SLUICE_MODEL_THREADS: threads } }), {
        code: "CONFIG_INVALID",
        message: `env SLUICE_MODEL_THREADS: "${threads}" is not a whole number of at least 0 or auto`,
      });
    }
    assert.throws(() => loadConfig({ path, env: { SLUICE_ENV: "staging" } }), {
      code: "CONFIG_INVALID",
      message: /env SLUICE_ENV: "staging"/,
    });
    assert.throws(() => loadConfig({ path, env: { OTEL_SDK_DISABLED: "yes" } }), {
      code: "CONFIG_INVALID",
      message: /env OTEL_SDK_DISABLED: "yes" is not true or false/,
    });
    assert.throws(() => loadConfig({ path, env: { OTEL_EXPORTER_OTLP_ENDPOINT: "collector" } }), {
      code: "CONFIG_INVALID",
      message: /env OTEL_EXPORTER_OTLP_ENDPOINT: "collector" is not an http\(s\) URL/,
    });
    assert.throws(() => loadConfig({ path, env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "file:///tmp/x" } }), {
      code: "CONFIG_INVALID",
      message: /env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "file:\/\/\/tmp\/x" is not an http\(s\) URL/,
    });
  });

  it("reports where each leaf came from, in schema order", () => {
    const path = yaml(
      "sources.yaml",
      "embedder:\n  backend: hash\nspool:\n  leaseMs: 45000\n  retry: { jitter: false }\npostgres:\n  url: postgres://sluice@file/db\ningest:\n  allowedRoots: [docs]\n",
    );
    const { config, sources } = loadConfigWithSources({
      path,
      env: { SLUICE_DATABASE_URL: "postgres://sluice@env/db", SLUICE_LOG_LEVEL: "debug" },
    });
    assert.equal(config.postgres.url, "postgres://sluice@env/db");
    assert.equal(sources["postgres.url"], "env:SLUICE_DATABASE_URL");
    assert.equal(sources["logging.level"], "env:SLUICE_LOG_LEVEL");
    assert.equal(sources["embedder.backend"], "file");
    assert.equal(sources["embedder.dimensions"], "default", "filled in by the schema under a section the file gave");
    assert.equal(sources["spool.leaseMs"], "file");
    assert.equal(sources["spool.retry.jitter"], "file");
    assert.equal(sources["spool.retry.maxDelayMs"], "default");
    assert.equal(sources["ingest.allowedRoots"], "file");
    assert.equal(sources["postgres.schema"], "default");
    assert.equal(sources["api.rateLimits.routes"], "default", "an empty record is a leaf");
    assert.equal(sources["redis.url"], undefined, "unset optional fields are not leaves");
    const sections = Object.keys(sources).map((p) => p.split(".")[0]!);
    const order = Object.keys(SluiceConfigSchema.shape);
    assert.deepEqual(
      [...new Set(sections)],
      order.filter((k) => sections.includes(k)),
    );
    assert.equal(Object.values(sources).filter((s) => s === "default").length > 50, true);
  });

  it("leaves a file that is no mapping to the schema to report", () => {
    const path = yaml("list.yaml", "- a\n- b\n");
    assert.throws(() => loadConfig({ path, env: { SLUICE_LOG_LEVEL: "info" } }), { code: "CONFIG_INVALID" });
  });

  it("every override names a leaf of the schema", () => {
    const env = Object.fromEntries(
      ENV_OVERRIDES.map((o) => [
        o.variable,
        o.parser.kind === "enum"
          ? o.parser.values.at(-1)!
          : o.parser.kind === "boolean"
            ? "false"
            : o.parser.kind === "url"
              ? "http://x:1"
              : o.parser.kind === "list"
                ? "/a"
                : o.parser.kind === "integer"
                  ? String(o.parser.min)
                  : "x",
      ]),
    );
    const { sources } = loadConfigWithSources({ path: join(dir, "none.yaml"), env });
    for (const o of ENV_OVERRIDES) {
      const source = sources[o.path.join(".")];
      assert.ok(source?.startsWith("env:"), `${o.variable} → ${o.path.join(".")}: ${source}`);
    }
  });
});
