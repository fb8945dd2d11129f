import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactConfig, redactUrl } from "./redact.ts";

describe("redaction", () => {
  it("hides the password of a URL's user info and of secret query parameters, nothing else", () => {
    assert.equal(redactUrl("postgres://sluice:hunter2@db:5432/sluice"), "postgres://sluice:***@db:5432/sluice");
    assert.equal(redactUrl("redis://:hunter2@redis:6379/0"), "redis://:***@redis:6379/0");
    assert.equal(redactUrl("postgres://u:p@ss@db/s"), "postgres://u:***@db/s", "an unescaped @ in the password");
    assert.equal(
      redactUrl("postgres://sluice@db/s?sslmode=require&password=x"),
      "postgres://sluice@db/s?sslmode=require&password=***",
    );
    assert.equal(redactUrl("http://collector:4318/v1/traces"), "http://collector:4318/v1/traces");
    assert.equal(redactUrl("127.0.0.1:50051"), "127.0.0.1:50051");
    assert.equal(redactUrl("a@b:c"), "a@b:c");
  });

  it("hides values at secret-looking keys, but not the names of where secrets live", () => {
    const out = redactConfig({
      db: { url: "postgres://u:pw@db/s", password: "pw" },
      x: { apiKey: "k", apiKeyEnv: "OPENAI_API_KEY", jwtSecretFile: "/run/s", token: { a: 1 } },
      list: ["redis://:pw@r"],
    });
    assert.deepEqual(out, {
      db: { url: "postgres://u:***@db/s", password: "***" },
      x: { apiKey: "***", apiKeyEnv: "OPENAI_API_KEY", jwtSecretFile: "/run/s", token: "***" },
      list: ["redis://:***@r"],
    });
  });
});
