import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from "jose";
import { hsToken, type LiveServer, startServer } from "./helpers/auth-server.ts";
import { json, runCli, startCli, workspace } from "./helpers/cli.ts";

const SECRET = randomBytes(48).toString("base64");
const INTERNAL = randomBytes(32).toString("hex");

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

const err = (statusCode: number, code: string, error: string, message: string) => ({
  statusCode,
  code,
  error,
  message,
});
const UNAUTH = (message: string) => err(401, "UNAUTHENTICATED", "Unauthorized", message);

void describe("authentication on a listening server (HS256 secret, internal credential)", () => {
  let s: LiveServer;
  const tokens: Record<string, string> = {};
  before(async () => {
    s = await startServer({ jwtSecret: SECRET, internalSecret: INTERNAL });
    tokens["query"] = await hsToken(SECRET, { sub: "alice", tenant: "acme", scope: "query" });
    tokens["ingest"] = await hsToken(SECRET, { sub: "alice", tenant: "acme", scope: "ingest" });
    tokens["admin"] = await hsToken(SECRET, { sub: "ops", tenant: "acme", scope: "admin" });
    tokens["none"] = await hsToken(SECRET, { sub: "alice", tenant: "acme", scope: "openid" });
  });
  after(async () => s.close());

  void it("no token → 401 with WWW-Authenticate: Bearer and the exact error body", async () => {
    const res = await s.call("GET", "/v1/collections/docs");
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="sluice"');
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(res.body, UNAUTH('authentication required: send "Authorization: Bearer <token>"'));
  });

  void it("a malformed Authorization header → 401", async () => {
    for (const value of ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer a b", "token"]) {
      const res = await s.call("GET", "/v1/collections/docs", { headers: { authorization: value } });
      assert.equal(res.status, 401, value);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="sluice"');
      assert.deepEqual(res.body, UNAUTH('malformed Authorization header: expected "Bearer <token>"'), value);
    }
    const garbage = await s.call("GET", "/v1/collections/docs", { token: "not-a-jwt" });
    assert.deepEqual(garbage.body, UNAUTH("invalid token: not a well-formed JWT"));
  });

  void it("an expired token → 401 token expired", async () => {
    const res = await s.call("GET", "/v1/collections/docs", {
      token: await hsToken(SECRET, { tenant: "acme", scope: "query" }, -120),
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="sluice", error="invalid_token"');
    assert.deepEqual(res.body, UNAUTH("token expired"));
  });

  void it("a wrongly signed token → 401", async () => {
    const res = await s.call("GET", "/v1/collections/docs", {
      token: await hsToken(randomBytes(48).toString("base64"), { tenant: "acme", scope: "query" }),
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="sluice", error="invalid_token"');
    assert.deepEqual(res.body, UNAUTH("invalid token: signature verification failed"));
  });

  void it("a valid token without the route's scope → 403 PERMISSION_DENIED", async () => {
    const res = await s.call("GET", "/v1/collections/docs", { token: tokens["ingest"]! });
    assert.equal(res.status, 403);
    assert.equal(
      res.headers.get("www-authenticate"),
      'Bearer realm="sluice", error="insufficient_scope", scope="query"',
    );
    assert.deepEqual(
      res.body,
      err(
        403,
        "PERMISSION_DENIED",
        "Forbidden",
        'the token of "alice" lacks the "query" scope that GET /v1/collections/:c needs (it has: ingest)',
      ),
    );
    const none = await s.call("POST", "/v1/query", {
      token: tokens["none"]!,
      body: { collection: "docs", query: "x" },
    });
    assert.deepEqual(
      none.body,
      err(
        403,
        "PERMISSION_DENIED",
        "Forbidden",
        'the token of "alice" lacks the "query" scope that POST /v1/query needs (it has: none)',
      ),
    );
  });

  void it("every route asks for its scope", async () => {
    const cases: Array<[string, string, unknown, string[], string[]]> = [
      [
        "POST",
        "/v1/collections/docs/documents",
        { documents: [{ id: "a", text: "alpha" }] },
        ["ingest"],
        ["query", "admin"],
      ],
      ["DELETE", "/v1/collections/docs/documents/a", undefined, ["ingest"], ["query", "admin"]],
      ["GET", "/v1/collections/docs", undefined, ["query"], ["ingest", "admin"]],
      ["POST", "/v1/jobs", { collection: "docs", paths: ["nothing-here"] }, ["ingest"], ["query", "admin"]],
      ["GET", "/v1/jobs/job_nope", undefined, ["ingest", "query"], ["admin"]],
      ["POST", "/v1/jobs/job_nope/cancel", undefined, ["ingest"], ["query", "admin"]],
      ["POST", "/v1/jobs/job_nope/resume", undefined, ["ingest"], ["query", "admin"]],
      ["POST", "/v1/query", { collection: "docs", query: "alpha" }, ["query"], ["ingest", "admin"]],
      ["GET", "/v1/spool", undefined, ["admin"], ["ingest", "query"]],
      ["GET", "/v1/spool/dlq", undefined, ["admin"], ["ingest", "query"]],
      ["POST", "/v1/spool/dlq/1/retry", undefined, ["admin"], ["ingest", "query"]],
      ["DELETE", "/v1/spool/dlq/1", undefined, ["admin"], ["ingest", "query"]],
      ["GET", "/metrics", undefined, ["admin"], ["ingest", "query"]],
    ];
    for (const [method, path, body, allowed, denied] of cases) {
      assert.equal((await s.call(method, path, { body })).status, 401, `${method} ${path} without a token`);
      for (const scope of denied)
        assert.equal(
          (await s.call(method, path, { token: tokens[scope]!, body })).status,
          403,
          `${method} ${path} with ${scope}`,
        );
      for (const scope of allowed) {
        const res = await s.call(method, path, { token: tokens[scope]!, body });
        assert.ok(
          res.status !== 401 && res.status !== 403,
          `${method} ${path} with ${scope}: ${res.status} ${res.text}`,
        );
      }
    }
  });

  void it("health probes and /openapi.json stay public; an unknown route is a plain 404", async () => {
    for (const path of ["/health", "/health/live", "/health/ready", "/openapi.json"])
      assert.equal((await s.call("GET", path)).status, 200, path);
    assert.deepEqual(
      (await s.call("GET", "/nowhere")).body,
      err(404, "NOT_FOUND", "Not Found", "no route GET /nowhere"),
    );
  });

  void it("checks the credential before reading the body", async () => {
    const res = await fetch(`${s.base}/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(res.status, 401);
  });

  void it("the internal credential is every scope for tenant default or x-sluice-tenant; a wrong one is 401", async () => {
    const ok = await s.call("GET", "/v1/spool", { headers: { "x-sluice-internal": INTERNAL } });
    assert.equal(ok.status, 200, ok.text);
    // As tenant acme it sees acme's collection: the document an earlier test posted, accepted and
    // not indexed (no worker runs here).
    const query = await s.call("GET", "/v1/collections/docs", {
      headers: { "x-sluice-internal": INTERNAL, "x-sluice-tenant": "acme" },
    });
    assert.deepEqual(query.body, { name: "docs", documents: 0, chunks: 0, pending: 1 });
    const wrong = await s.call("GET", "/v1/spool", { headers: { "x-sluice-internal": `${INTERNAL}x` } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("www-authenticate"), 'Bearer realm="sluice", error="invalid_token"');
    assert.deepEqual(wrong.body, UNAUTH("invalid internal credential"));
    // A wrong internal credential is not rescued by a good bearer token.
    assert.equal(
      (await s.call("GET", "/v1/spool", { token: tokens["admin"]!, headers: { "x-sluice-internal": "nope" } })).status,
      401,
    );
    const badTenant = await s.call("GET", "/v1/spool", {
      headers: { "x-sluice-internal": INTERNAL, "x-sluice-tenant": "a~b" },
    });
    assert.equal(badTenant.status, 400);
  });
});

void describe("a server without an internal secret", () => {
  let s: LiveServer;
  before(async () => {
    s = await startServer({ jwtSecret: SECRET });
  });
  after(async () => s.close());

  void it("refuses any x-sluice-internal header", async () => {
    const res = await s.call("GET", "/v1/spool", { headers: { "x-sluice-internal": "" } });
    assert.deepEqual(res.body, UNAUTH("invalid internal credential"));
  });
});

void describe("JWKS (RS256 and ES256 keys from a local key-set server)", () => {
  let s: LiveServer;
  let jwksServer: Server;
  let rsKey: PrivateKey;
  let esKey: PrivateKey;
  let jwksHits = 0;
  const ISS = "https://id.sluice.test";
  const AUD = "sluice-api";

  const sign = (key: PrivateKey, alg: string, kid: string, audience = AUD) =>
    new SignJWT({ tenant: "acme", scope: "query" })
      .setProtectedHeader({ alg, kid })
      .setSubject("bob")
      .setIssuer(ISS)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key);

  before(async () => {
    const rs = await generateKeyPair("RS256");
    const es = await generateKeyPair("ES256");
    rsKey = rs.privateKey;
    esKey = es.privateKey;
    const keys: JWK[] = [
      { ...(await exportJWK(rs.publicKey)), kid: "rs-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(es.publicKey)), kid: "es-1", alg: "ES256", use: "sig" },
    ];
    jwksServer = createServer((req, res) => {
      jwksHits++;
      if (req.url !== "/.well-known/jwks.json") return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
    s = await startServer({ jwksUrl: url, issuer: ISS, audience: AUD });
  });
  after(async () => {
    await s.close();
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  void it("accepts tokens signed with a key in the set (RS256 and ES256)", async () => {
    for (const token of [await sign(rsKey, "RS256", "rs-1"), await sign(esKey, "ES256", "es-1")]) {
      const res = await s.call("GET", "/v1/collections/docs", { token });
      assert.deepEqual(
        res.body,
        err(404, "COLLECTION_NOT_FOUND", "Not Found", 'collection "docs" does not exist; collections: (none)'),
      );
    }
    assert.ok(jwksHits >= 1);
  });

  void it("refuses an unknown kid, a key not in the set, a wrong audience and HS256", async () => {
    const unknownKid = await s.call("GET", "/v1/collections/docs", { token: await sign(rsKey, "RS256", "rs-unknown") });
    assert.equal(unknownKid.status, 401);
    assert.deepEqual(unknownKid.body, UNAUTH("invalid token: no key in the key set matches its kid"));
    const stranger = (await generateKeyPair("RS256")).privateKey;
    assert.deepEqual(
      (await s.call("GET", "/v1/collections/docs", { token: await sign(stranger, "RS256", "rs-1") })).body,
      UNAUTH("invalid token: signature verification failed"),
    );
    assert.deepEqual(
      (await s.call("GET", "/v1/collections/docs", { token: await sign(rsKey, "RS256", "rs-1", "someone-else") })).body,
      UNAUTH('invalid token: "aud" claim check failed (check_failed)'),
    );
    assert.deepEqual(
      (
        await s.call("GET", "/v1/collections/docs", {
          token: await hsToken(SECRET, { tenant: "acme", scope: "query" }),
        })
      ).body,
      UNAUTH('invalid token: algorithm "HS256" is not accepted'),
    );
  });
});

void describe("sluice token create", () => {
  const env = { SLUICE_AUTH_JWT_SECRET: SECRET };

  void it("prints one HS256 token the server accepts, with sub, tenant, scopes and the ttl", async () => {
    const out = await runCli(
      ["token", "create", "--sub", "alice", "--tenant", "acme", "--scopes", "query,ingest", "--ttl", "2h"],
      { env },
    );
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    const { payload, protectedHeader } = await jwtVerify(lines[0]!, new TextEncoder().encode(SECRET));
    assert.equal(protectedHeader.alg, "HS256");
    assert.deepEqual([payload.sub, payload["tenant"], payload["scope"]], ["alice", "acme", "query ingest"]);
    assert.equal(payload.exp! - payload.iat!, 7200);

    const s = await startServer({ jwtSecret: SECRET });
    try {
      const res = await s.call("POST", "/v1/collections/docs/documents", {
        token: lines[0]!,
        body: { documents: [{ id: "a", text: "alpha" }] },
      });
      assert.equal(res.status, 202, res.text);
    } finally {
      await s.close();
    }
  });

  void it("--json prints {token, expiresAt}", async () => {
    const out = await runCli(
      ["--json", "token", "create", "--sub", "svc", "--tenant", "default", "--scopes", "admin"],
      { env },
    );
    assert.equal(out.code, 0, out.stderr);
    const body = json<{ token: string; expiresAt: string }>(out);
    assert.deepEqual(Object.keys(body).sort(), ["expiresAt", "token"]);
    const { payload } = await jwtVerify(body.token, new TextEncoder().encode(SECRET));
    assert.equal(new Date(body.expiresAt).getTime(), payload.exp! * 1000);
    assert.equal(payload.exp! - payload.iat!, 3600, "default ttl 1h");
  });

  void it("says what is wrong: no secret, an unknown scope, a bad ttl", async () => {
    const noSecret = await runCli(["token", "create", "--sub", "a", "--tenant", "t", "--scopes", "query"], {
      env: { SLUICE_AUTH_JWT_SECRET: undefined },
    });
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.stderr, /^error CONFIG_INVALID: SLUICE_AUTH_JWT_SECRET is not set/);
    const badScope = await runCli(["token", "create", "--sub", "a", "--tenant", "t", "--scopes", "query,root"], {
      env,
    });
    assert.equal(badScope.code, 1);
    assert.match(badScope.stderr, /--scopes must list ingest, query, admin \(comma-separated\); unknown: root/);
    const badTtl = await runCli(
      ["token", "create", "--sub", "a", "--tenant", "t", "--scopes", "query", "--ttl", "forever"],
      { env },
    );
    assert.match(badTtl.stderr, /--ttl must be a positive duration/);
  });
});

void describe("sluice serve refuses to start unprotected", () => {
  const ws = workspace();
  const args = ["--data", ws.data, "--config", ws.config, "serve", "--port", "0"];
  const clean = { SLUICE_AUTH_JWT_SECRET: undefined, SLUICE_INTERNAL_SECRET: undefined, SLUICE_ENV: undefined };

  void it("on a non-loopback address without a secret or JWKS: exit 1 with the reason", async () => {
    const out = await runCli([...args, "--host", "0.0.0.0"], { env: clean });
    assert.equal(out.code, 1, out.stdout);
    assert.match(
      out.stderr,
      /^error CONFIG_INVALID: refusing to serve without authentication \(0\.0\.0\.0 is not a loopback address\): set SLUICE_AUTH_JWT_SECRET/,
    );
    assert.doesNotMatch(out.stdout, /listening/);
  });

  void it('in production with the secret "changeme": exit 1', async () => {
    const out = await runCli([...args, "--host", "127.0.0.1"], {
      env: { ...clean, SLUICE_ENV: "production", SLUICE_AUTH_JWT_SECRET: "changeme" },
    });
    assert.equal(out.code, 1, out.stdout);
    assert.match(
      out.stderr,
      /^error CONFIG_INVALID: refusing to start in production \(environment: production\): the JWT secret \(SLUICE_AUTH_JWT_SECRET or auth.jwtSecretFile\) is a well-known development default/,
    );
  });

  void it("in production without any secret: exit 1", async () => {
    const out = await runCli([...args, "--host", "127.0.0.1"], { env: { ...clean, SLUICE_ENV: "production" } });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /refusing to serve without authentication \(environment: production\)/);
  });

  void it("in production with a strong secret it serves, and a token is needed", async () => {
    const child = startCli([...args, "--host", "127.0.0.1"], {
      env: { ...clean, SLUICE_ENV: "production", SLUICE_AUTH_JWT_SECRET: SECRET },
    });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    try {
      assert.equal((await fetch(`${address}/v1/collections/default`)).status, 401);
      const token = await hsToken(SECRET, { tenant: "default", scope: "query" });
      assert.equal(
        (await fetch(`${address}/v1/collections/default`, { headers: { authorization: `Bearer ${token}` } })).status,
        404,
      );
    } finally {
      child.kill("SIGTERM");
      assert.equal(await exited, 0, stderr);
    }
  });
});
