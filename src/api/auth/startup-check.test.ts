import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { assertServeSecurity, isLoopbackHost, weakSecretReason } from "./startup-check.ts";

const STRONG = randomBytes(48).toString("base64");

void describe("serve startup rules", () => {
  void it("knows loopback from reachable addresses", () => {
    for (const h of ["127.0.0.1", "127.8.0.1", "localhost", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of ["0.0.0.0", "::", "10.0.0.5", "::ffff:10.0.0.1", "example.com", "128.0.0.1"])
      assert.equal(isLoopbackHost(h), false, h);
  });

  void it("calls short, default and padded-default secrets weak", () => {
    assert.equal(weakSecretReason("changeme"), "is a well-known development default");
    assert.equal(weakSecretReason("Secret!"), "is a well-known development default");
    assert.equal(weakSecretReason("changeme".repeat(4)), "is a development default repeated to length");
    assert.equal(weakSecretReason("x".repeat(40)), "is a development default repeated to length");
    assert.equal(weakSecretReason("a-fine-but-short-secret"), "is shorter than 32 bytes (23)");
    assert.equal(weakSecretReason(STRONG), undefined);
  });

  void it("loopback without a secret is fine; anywhere else, or in production, it is refused", () => {
    assertServeSecurity({ host: "127.0.0.1", settings: {}, environment: "development" });
    assert.throws(() => assertServeSecurity({ host: "0.0.0.0", settings: {}, environment: "development" }), {
      code: "CONFIG_INVALID",
      message:
        /^refusing to serve without authentication \(0\.0\.0\.0 is not a loopback address\): set SLUICE_AUTH_JWT_SECRET/,
    });
    assert.throws(() => assertServeSecurity({ host: "127.0.0.1", settings: {}, environment: "production" }), {
      code: "CONFIG_INVALID",
      message: /\(environment: production\)/,
    });
    // The internal secret alone does not let users in: it does not count.
    assert.throws(
      () => assertServeSecurity({ host: "0.0.0.0", settings: { internalSecret: STRONG }, environment: "development" }),
      { code: "CONFIG_INVALID" },
    );
    assertServeSecurity({
      host: "0.0.0.0",
      settings: { jwksUrl: "https://id.example/jwks.json" },
      environment: "development",
    });
    assertServeSecurity({ host: "0.0.0.0", settings: { jwtSecret: "dev" }, environment: "development" });
  });

  void it("production refuses weak JWT and internal secrets", () => {
    const environment = "production";
    assert.throws(() => assertServeSecurity({ host: "0.0.0.0", settings: { jwtSecret: "changeme" }, environment }), {
      code: "CONFIG_INVALID",
      message:
        "refusing to start in production (environment: production): the JWT secret (SLUICE_AUTH_JWT_SECRET or auth.jwtSecretFile) is a well-known development default; use at least 32 random bytes, e.g. `openssl rand -base64 48`",
    });
    assert.throws(
      () =>
        assertServeSecurity({ host: "0.0.0.0", settings: { jwtSecret: STRONG, internalSecret: "short" }, environment }),
      { message: /the internal secret \(SLUICE_INTERNAL_SECRET or auth.internalSecretFile\) is shorter than 32 bytes/ },
    );
    assertServeSecurity({
      host: "0.0.0.0",
      settings: { jwtSecret: STRONG, internalSecret: randomBytes(32).toString("hex") },
      environment,
    });
  });
});
