import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ROOT } from "./cli.ts";

/** The recorded API responses (`../shared/fixtures/sources`), beside the repository. */
export const SOURCES_FIXTURES = join(ROOT, "..", "shared", "fixtures", "sources");

/** Why tests of the source adapters skip here, or undefined when the recordings are present. */
export function replaySkipReason(): string | undefined {
  return existsSync(join(SOURCES_FIXTURES, "replay-index.json"))
    ? undefined
    : `the recorded API responses are not here (${SOURCES_FIXTURES}); a clone with ../shared beside it has them`;
}

interface Recording {
  method: string;
  url: string;
  status: number;
  content_type: string;
  file: string;
}

/**
 * A reply the test scripts instead of a recording (a 429, a 503), or `{ recorded: true, delayMs }`:
 * the recording, late.
 */
export type ScriptedReply =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  | { recorded: true; delayMs?: number };

/**
 * A local server that answers the scholarly APIs' requests with their recorded responses. Each
 * API host is a path prefix: `https://api.openalex.org/works?…` is asked as
 * `${server.url}/api.openalex.org/works?…`, so an adapter's base URL is `server.base("api.openalex.org")`.
 * Requests match a recording by method, host, path and the same query parameters in any order;
 * one without a recording gets 404 `{"error":"no recording",...}` so a test fails naming it.
 *
 * @example
 * const server = await startReplayServer();
 * const baseUrl = server.base("clinicaltrials.gov") + "/api/v2";
 * server.script("/api.openalex.org/works", [{ status: 429, headers: { "retry-after": "1" } }]);
 */
export interface ReplayServer {
  url: string;
  base(host: string): string;
  /** Every request, as `/<host>/<path>?<query>`, in order. */
  requests: string[];
  /** The next requests whose path starts with `pathPrefix` get these replies, in order, before any recording. */
  script(pathPrefix: string, replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

function sameQuery(a: URLSearchParams, b: URLSearchParams): boolean {
  const list = (p: URLSearchParams) => [...p.entries()].map(([k, v]) => `${k}=${v}`).sort();
  const [x, y] = [list(a), list(b)];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export async function startReplayServer(): Promise<ReplayServer> {
  const recordings = JSON.parse(readFileSync(join(SOURCES_FIXTURES, "replay-index.json"), "utf8")) as Recording[];
  const scripted: Array<{ prefix: string; reply: ScriptedReply }> = [];
  const requests: string[] = [];

  const find = (method: string, host: string, path: string, query: URLSearchParams): Recording | undefined =>
    recordings.find((r) => {
      const recorded = new URL(r.url);
      return (
        r.method === method &&
        recorded.hostname === host &&
        decodeURIComponent(recorded.pathname) === decodeURIComponent(path) &&
        sameQuery(recorded.searchParams, query)
      );
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const asked = new URL(req.url ?? "/", "http://replay");
    requests.push(`${asked.pathname}${asked.search}`);
    const index = scripted.findIndex((s) => asked.pathname.startsWith(s.prefix));
    const reply = index >= 0 ? scripted.splice(index, 1)[0]!.reply : undefined;
    // unref: a reply still held back when the test ends does not keep the process alive.
    if (reply?.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs).unref());
    if (reply && !("recorded" in reply)) {
      res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      res.end(reply.body ?? "");
      return;
    }
    const [, host = "", ...rest] = asked.pathname.split("/");
    const recording = find(req.method ?? "GET", host, `/${rest.join("/")}`, asked.searchParams);
    if (!recording) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: "no recording",
          request: `${req.method} https://${host}/${rest.join("/")}${asked.search}`,
        }),
      );
      return;
    }
    res.writeHead(recording.status, { "content-type": recording.content_type });
    res.end(readFileSync(join(SOURCES_FIXTURES, recording.file)));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    base: (host) => `${url}/${host}`,
    requests,
    script: (prefix, replies) => scripted.push(...replies.map((reply) => ({ prefix, reply }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
