import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { JwtVerifier } from "./jwt-verifier.ts";

const SECRET = "unit-test-secret-that-is-long-enough-0123456789";
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function hs256(
  claims: Record<string, unknown>,
  options: { secret?: Uint8Array; exp?: number; alg?: string } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? "HS256" })
    .setSubject("alice")
    .setIssuedAt()
    .setExpirationTime(options.exp ?? now() + 600)
    .sign(options.secret ?? key);
}

const rejects = (p: Promise<unknown>, code: string, message: RegExp | string) =>
  assert.rejects(p, (err: { code?: string; message?: string }) => {
    assert.equal(err.code, code);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message ?? "", message);
    return true;
  });

void describe("JwtVerifier", () => {
  const verifier = new JwtVerifier({ jwtSecret: SECRET });

  void it("turns sub, tenant and scope (space-separated) into the principal; unknown scopes are dropped", async () => {
    assert.deepEqual(await verifier.verify(await hs256({ tenant: "acme", scope: "query openid ingest" })), {
      sub: "alice",
      tenant: "acme",
      scopes: ["query", "ingest"],
    });
  });

  void it("reads a scopes array too", async () => {
    assert.deepEqual((await verifier.verify(await hs256({ tenant: "acme", scopes: ["admin", 7] }))).scopes, ["admin"]);
  });

  void it("refuses expired, wrongly signed and malformed tokens with 401 UNAUTHENTICATED", async () => {
    await rejects(
      verifier.verify(await hs256({ tenant: "acme" }, { exp: now() - 60 })),
      "UNAUTHENTICATED",
      "token expired",
    );
    await rejects(
      verifier.verify(await hs256({ tenant: "acme" }, { secret: new TextEncoder().encode(`${SECRET}-other`) })),
      "UNAUTHENTICATED",
      "invalid token: signature verification failed",
    );
    await rejects(verifier.verify("not.a.jwt"), "UNAUTHENTICATED", "invalid token: not a well-formed JWT");
    await rejects(verifier.verify("garbage"), "UNAUTHENTICATED", "invalid token: not a well-formed JWT");
  });

  void it("refuses alg none and a token without tenant, sub or exp", async () => {
    const unsecured = new UnsecuredJWT({ tenant: "acme" }).setSubject("alice").setExpirationTime("1h").encode();
    await rejects(verifier.verify(unsecured), "UNAUTHENTICATED", 'invalid token: algorithm "none" is not accepted');
    await rejects(verifier.verify(await hs256({})), "UNAUTHENTICATED", 'invalid token: no "tenant" claim');
    await rejects(verifier.verify(await hs256({ tenant: "a~b" })), "UNAUTHENTICATED", /"tenant" claim must be/);
    const noExp = await new SignJWT({ tenant: "acme" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .sign(key);
    await rejects(verifier.verify(noExp), "UNAUTHENTICATED", /"exp" claim check failed/);
    const noSub = await new SignJWT({ tenant: "acme" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("1h")
      .sign(key);
    await rejects(verifier.verify(noSub), "UNAUTHENTICATED", /"sub" claim check failed/);
  });

  void it("checks iss and aud when configured", async () => {
    const strict = new JwtVerifier({ jwtSecret: SECRET, issuer: "https://id.example", audience: "sluice" });
    const good = await new SignJWT({ tenant: "acme" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("a")
      .setIssuer("https://id.example")
      .setAudience("sluice")
      .setExpirationTime("1h")
      .sign(key);
    assert.equal((await strict.verify(good)).tenant, "acme");
    await rejects(
      strict.verify(await hs256({ tenant: "acme", iss: "https://evil.example", aud: "sluice" })),
      "UNAUTHENTICATED",
      /"iss" claim check failed/,
    );
    await rejects(
      strict.verify(await hs256({ tenant: "acme", iss: "https://id.example", aud: "other" })),
      "UNAUTHENTICATED",
      /"aud" claim check failed/,
    );
  });

  void it("never verifies an asymmetric algorithm with the secret, nor HS256 without one", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const rs = await new SignJWT({ tenant: "acme" })
      .setProtectedHeader({ alg: "RS256" })
      .setSubject("a")
      .setExpirationTime("1h")
      .sign(privateKey);
    await rejects(verifier.verify(rs), "UNAUTHENTICATED", 'invalid token: algorithm "RS256" is not accepted');
    // A JWKS-only verifier must not accept an HS256 token made with the public key as the secret.
    const jwksOnly = new JwtVerifier({ jwksUrl: "http://127.0.0.1:9/jwks.json" });
    const confused = await hs256(
      { tenant: "acme" },
      { secret: new TextEncoder().encode(JSON.stringify(await exportJWK(publicKey))) },
    );
    await rejects(jwksOnly.verify(confused), "UNAUTHENTICATED", 'invalid token: algorithm "HS256" is not accepted');
  });

  void it("an unreachable key set is 503 AUTH_UNAVAILABLE, not the caller's fault", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const es = await new SignJWT({ tenant: "acme" })
      .setProtectedHeader({ alg: "ES256", kid: "k" })
      .setSubject("a")
      .setExpirationTime("1h")
      .sign(privateKey);
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    await rejects(
      new JwtVerifier({ jwksUrl: "http://127.0.0.1:9/jwks.json" }).verify(es),
      "AUTH_UNAVAILABLE",
      "cannot check tokens now: the key set at http://127.0.0.1:9/jwks.json is unavailable",
    );
  });
});
