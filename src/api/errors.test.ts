import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { SluiceError } from "../contracts/errors.ts";
import { toErrorBody } from "./error-body.ts";
import { openTestApp, type TestApp } from "./test-app.fixture.ts";

interface ErrorJson {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/** The one error shape: exactly these four keys, the status matching the HTTP status. */
function errorBody(res: LightMyRequestResponse, statusCode: number, code: string): ErrorJson {
  assert.equal(res.statusCode, statusCode, res.body);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  const body = res.json<ErrorJson>();
  assert.deepEqual(Object.keys(body).sort(), ["code", "error", "message", "statusCode"]);
  assert.equal(body.statusCode, statusCode);
  assert.equal(body.code, code);
  return body;
}

void describe("error responses", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp({ bodyLimit: 2048 });
  });
  after(async () => t.close());

  const post = (url: string, payload: unknown) =>
    t.app.inject({ method: "POST", url, payload: payload as Record<string, unknown> });

  void it("missing collection → 404 COLLECTION_NOT_FOUND, for stats and for query", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/collections/ghost" });
    assert.deepEqual(res.json(), {
      statusCode: 404,
      code: "COLLECTION_NOT_FOUND",
      error: "Not Found",
      message: 'collection "ghost" does not exist; collections: (none)',
    });
    errorBody(await post("/v1/query", { collection: "ghost", query: "anything" }), 404, "COLLECTION_NOT_FOUND");
    errorBody(
      await t.app.inject({ method: "DELETE", url: "/v1/collections/ghost/documents/a" }),
      404,
      "COLLECTION_NOT_FOUND",
    );
  });

  void it("invalid query bodies → 400 VALIDATION_FAILED naming the field", async () => {
    const cases: Array<[unknown, string]> = [
      [{ collection: "c" }, 'invalid request: body field "query": required'],
      [{ collection: "c", query: "q", k: 0 }, 'body field "k"'],
      [{ collection: "c", query: "q", k: 101 }, 'body field "k"'],
      [{ collection: "c", query: "q", k: 2.5 }, 'body field "k"'],
      [{ collection: "c", query: "q", mode: "fuzzy" }, 'body field "mode"'],
      [
        { collection: "../etc", query: "q" },
        'invalid request: body field "collection": must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      ],
      [{ collection: "c", query: "   " }, 'invalid request: body field "query": must not be blank'],
      [{ collection: "c", query: "q", answer: "yes" }, 'body field "answer"'],
      [{ collection: "c", query: "q", filter: { year: { between: [1, 2] } } }, 'body field "filter.year"'],
      [{ collection: "c", query: "q", filter: "year=2020" }, 'body field "filter"'],
      [{ collection: "c", query: "q", rerank: "yes" }, 'body field "rerank"'],
      [
        { collection: "c", query: "q", pipeline: "../pipelines/x.yaml" },
        'body field "pipeline": a query pipeline\'s name (lowercase letters, digits, - and _), not a file',
      ],
      [{ collection: "c", query: "q", querry: "typo" }, 'invalid request: body: Unrecognized key: "querry"'],
      [[1, 2], "invalid request: body: "],
    ];
    for (const [payload, message] of cases) {
      const body = errorBody(await post("/v1/query", payload), 400, "VALIDATION_FAILED");
      assert.equal(body.error, "Bad Request");
      assert.ok(body.message.includes(message), `${JSON.stringify(payload)}: ${body.message}`);
    }
    const mode = errorBody(
      await post("/v1/query", { collection: "c", query: "q", mode: "fuzzy" }),
      400,
      "VALIDATION_FAILED",
    );
    assert.match(mode.message, /"hybrid"\|"lexical"\|"dense"\|"sparse"/);
    const ingest = errorBody(
      await post("/v1/query", { collection: "c", query: "q", pipeline: "auto" }),
      400,
      "PIPELINE_INVALID",
    );
    assert.match(ingest.message, /pipeline "auto" is an ingest pipeline; a query runs a query pipeline/);
  });

  void it("invalid documents → 400 naming the document and field", async () => {
    const cases: Array<[unknown, string]> = [
      [
        {
          documents: [
            { id: "a", text: "x" },
            { id: "a", text: "y" },
          ],
        },
        'invalid request: body field "documents.1.id": duplicate id "a" (also documents.0.id)',
      ],
      [{ documents: [{ id: "", text: "x" }] }, 'body field "documents.0.id"'],
      [{ documents: [{ id: "x".repeat(513), text: "x" }] }, 'body field "documents.0.id"'],
      [{ documents: [{ id: "a", text: "" }] }, 'body field "documents.0.text"'],
      [{ documents: [{ id: "a" }] }, 'invalid request: body field "documents.0.text": required'],
      [{ documents: [] }, 'body field "documents"'],
      [{ docs: [] }, 'body field "documents": required'],
    ];
    for (const [payload, message] of cases) {
      const body = errorBody(await post("/v1/collections/c/documents", payload), 400, "VALIDATION_FAILED");
      assert.ok(body.message.includes(message), `${JSON.stringify(payload)}: ${body.message}`);
    }
    const badName = errorBody(
      await post("/v1/collections/-bad/documents", { documents: [{ id: "a", text: "x" }] }),
      400,
      "VALIDATION_FAILED",
    );
    assert.ok(badName.message.startsWith('invalid request: path field "c": must be 1-64 letters'), badName.message);
  });

  void it("more than 10,000 documents in one request → 400", async () => {
    const t2 = await openTestApp();
    try {
      const documents = Array.from({ length: 10_001 }, (_, i) => ({ id: `d${i}`, text: "x" }));
      const body = errorBody(
        await t2.app.inject({ method: "POST", url: "/v1/collections/c/documents", payload: { documents } }),
        400,
        "VALIDATION_FAILED",
      );
      assert.match(body.message, /body field "documents": Too big/);
    } finally {
      await t2.close();
    }
  });

  void it("invalid JSON → 400 VALIDATION_FAILED", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/query",
      payload: '{"collection": "c", "query":',
      headers: { "content-type": "application/json" },
    });
    assert.deepEqual(res.json(), {
      statusCode: 400,
      code: "VALIDATION_FAILED",
      error: "Bad Request",
      message: "request body is not valid JSON",
    });
    const poisoned = await t.app.inject({
      method: "POST",
      url: "/v1/query",
      payload: '{"__proto__": {"x": 1}}',
      headers: { "content-type": "application/json" },
    });
    errorBody(poisoned, 400, "VALIDATION_FAILED");
  });

  void it("a body over the limit → 413 PAYLOAD_TOO_LARGE", async () => {
    const res = await post("/v1/collections/c/documents", { documents: [{ id: "a", text: "x".repeat(4096) }] });
    assert.deepEqual(res.json(), {
      statusCode: 413,
      code: "PAYLOAD_TOO_LARGE",
      error: "Payload Too Large",
      message: "request body is too large (limit 2048 bytes)",
    });
  });

  void it("an unsupported content-type → 415 UNSUPPORTED_TYPE", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/query",
      payload: "<q/>",
      headers: { "content-type": "application/xml" },
    });
    errorBody(res, 415, "UNSUPPORTED_TYPE");
  });

  void it("unknown route → 404 NOT_FOUND", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/nothing?x=1" });
    assert.deepEqual(res.json(), {
      statusCode: 404,
      code: "NOT_FOUND",
      error: "Not Found",
      message: "no route GET /v1/nothing",
    });
    errorBody(await t.app.inject({ method: "PUT", url: "/v1/query" }), 404, "NOT_FOUND");
  });

  void it("an unexpected failure → 500 INTERNAL without its message or stack", async () => {
    const t2 = await openTestApp();
    try {
      t2.sluice.stats = async () => {
        throw new Error("SQLITE_CORRUPT at /secret/path/index.db");
      };
      const res = await t2.app.inject({ method: "GET", url: "/v1/collections/c" });
      assert.deepEqual(res.json(), {
        statusCode: 500,
        code: "INTERNAL",
        error: "Internal Server Error",
        message: "Internal Server Error",
      });
      assert.ok(!res.body.includes("secret"));
    } finally {
      await t2.close();
    }
  });

  void it("an empty JSON body is no body (cancel from a JSON client), not a parse error", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/query",
      headers: { "content-type": "application/json" },
    });
    assert.equal(errorBody(res, 400, "VALIDATION_FAILED").message, "invalid request: body: required");
  });
});

void describe("toErrorBody", () => {
  void it("keeps a SluiceError's code, status and message", () => {
    assert.deepEqual(toErrorBody(new SluiceError("MODEL_UNAVAILABLE", "embedder is loading")), {
      statusCode: 503,
      code: "MODEL_UNAVAILABLE",
      error: "Service Unavailable",
      message: "embedder is loading",
    });
  });

  void it("hides the message of INTERNAL errors, even deliberate ones", () => {
    assert.equal(toErrorBody(new SluiceError("INTERNAL", "db handle is null")).message, "Internal Server Error");
    assert.equal(toErrorBody("a string").message, "Internal Server Error");
  });

  void it("maps a schema-validation error (err.validation) to the same 400 shape as zod's", () => {
    const ajvStyle = Object.assign(new Error("body must have required property 'query'"), {
      statusCode: 400,
      code: "FST_ERR_VALIDATION",
      validation: [],
    });
    assert.deepEqual(toErrorBody(ajvStyle), {
      statusCode: 400,
      code: "VALIDATION_FAILED",
      error: "Bad Request",
      message: "body must have required property 'query'",
    });
  });
});
