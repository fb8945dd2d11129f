import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface CollectedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpCollector {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: CollectedRequest[];
  /** Resolves once `n` requests have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<CollectedRequest[]>;
  close(): Promise<void>;
}

/**
 * A local HTTP server that records every request, for sink tests. `respond` decides the answer
 * (default 202); it may hold a response back to simulate a slow endpoint.
 *
 * @example
 * const collector = await startCollector();
 * await fetch(collector.url, { method: "POST", body: "{}" });
 * await collector.waitFor(1);
 * await collector.close();
 */
export async function startCollector(
  respond: (req: CollectedRequest, res: ServerResponse) => void = (_req, res) => res.writeHead(202).end(),
): Promise<HttpCollector> {
  const requests: CollectedRequest[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const collected = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(collected);
      for (const w of waiters.splice(0)) w();
      respond(collected, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async waitFor(n, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} requests, got ${requests.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
