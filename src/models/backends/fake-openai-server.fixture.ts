/**
 * Test fixture: a local OpenAI-compatible server on 127.0.0.1:<random port>. By default
 * `/v1/embeddings` answers with HashEmbedder vectors (scaled ×3 and listed in reverse order, so
 * clients must sort by `index` and normalise) and `/v1/chat/completions` echoes the last message.
 * Tests replace `handler` to script failures; every request is recorded.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { HashEmbedder } from "./hash-embedder.ts";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface FakeReply {
  status: number;
  /** Sent as JSON unless it is a string. */
  body: unknown;
  /** Wait this long before answering (for timeout tests). */
  delayMs?: number;
}

export type FakeHandler = (request: RecordedRequest) => FakeReply;

export interface FakeOpenAIServer {
  /** Base URL without `/v1`, e.g. `http://127.0.0.1:41234`. */
  url: string;
  requests: RecordedRequest[];
  /** Replaces the default behaviour until reset to `undefined`. */
  handler: FakeHandler | undefined;
  /** The embedder behind the default `/v1/embeddings`. */
  hash: HashEmbedder;
  close(): Promise<void>;
}

/**
 * Starts the server.
 *
 * @example
 * const server = await startFakeOpenAIServer({ dimensions: 64 });
 * const embedder = new OpenAIEmbedder({ url: server.url, model: "m", dimensions: 64, batchSize: 8, timeoutMs: 5000 });
 */
export async function startFakeOpenAIServer(options: { dimensions?: number } = {}): Promise<FakeOpenAIServer> {
  const hash = new HashEmbedder({ dimensions: options.dimensions ?? 64 });
  const state: FakeOpenAIServer = { url: "", requests: [], handler: undefined, hash, close: async () => {} };

  const defaultHandler: FakeHandler = (req) => {
    const body = (req.body ?? {}) as { input?: string[]; messages?: Array<{ content: string }> };
    if (req.path === "/v1/embeddings" && Array.isArray(body.input)) {
      const data = body.input.map((text, index) => ({
        object: "embedding",
        index,
        embedding: [...hash.embedOne(text)].map((x) => x * 3),
      }));
      return { status: 200, body: { object: "list", data: data.reverse(), model: "fake" } };
    }
    if (req.path === "/v1/chat/completions" && Array.isArray(body.messages)) {
      const last = body.messages.at(-1)?.content ?? "";
      return {
        status: 200,
        body: { choices: [{ index: 0, message: { role: "assistant", content: `echo: ${last}` } }] },
      };
    }
    return { status: 404, body: { error: { message: `no route ${req.method} ${req.path}` } } };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep raw text
      }
      const recorded: RecordedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body };
      state.requests.push(recorded);
      const reply = (state.handler ?? defaultHandler)(recorded);
      const send = () => {
        const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          "content-type": typeof reply.body === "string" ? "text/plain" : "application/json",
        });
        res.end(text);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
