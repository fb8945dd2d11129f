import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".png": "image/png",
};

interface Asset {
  type: string;
  etag: string;
  raw: Buffer;
  gzip: Buffer | null;
  br: Buffer | null;
}

/**
 * Where `npm run build` puts the console: `dist/console`, next to the compiled server when this
 * runs from `dist/`, or under the checkout's `dist/` when it runs from `src/` (tsx).
 */
export function consoleDir(): string {
  const fromDist = fileURLToPath(new URL("../../console", import.meta.url));
  return import.meta.url.endsWith(".ts") ? fileURLToPath(new URL("../../../dist/console", import.meta.url)) : fromDist;
}

/** Every file of the build, read once, with gzip and brotli forms of the ones worth compressing. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const raw = readFileSync(file);
    const type = TYPES[extname(entry.name)] ?? "application/octet-stream";
    const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && raw.length > 512;
    assets.set(`/${relative(dir, file).split("\\").join("/")}`, {
      type,
      etag: `"${createHash("sha256").update(raw).digest("base64url").slice(0, 22)}"`,
      raw,
      gzip: compressible ? gzipSync(raw, { level: 9 }) : null,
      br: compressible ? brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }) : null,
    });
  }
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string) {
  void reply.header("content-type", asset.type).header("cache-control", cacheControl).header("etag", asset.etag);
  void reply.header("vary", "accept-encoding");
  if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
  const accepts = String(request.headers["accept-encoding"] ?? "");
  if (asset.br && /\bbr\b/.test(accepts)) return reply.header("content-encoding", "br").send(asset.br);
  if (asset.gzip && /\bgzip\b/.test(accepts)) return reply.header("content-encoding", "gzip").send(asset.gzip);
  return reply.send(asset.raw);
}

/**
 * The web console: `GET /` is its page (revalidated on every load), `GET /assets/*` its
 * content-hashed files (cached for a year, immutable), brotli or gzip as the browser accepts,
 * with ETags. The files are read at start from `dir` (default {@link consoleDir}); without a
 * build, `/` answers 503 saying how to make one. The console calls `/v1` with the user's token,
 * so its files need none.
 *
 * @example
 * await app.register(consoleRoutes());
 */
export const consoleRoutes = (options: { dir?: string } = {}): FastifyPluginAsync =>
  async function consoleRoutes(app) {
    const dir = options.dir ?? consoleDir();
    const assets = existsSync(join(dir, "index.html")) ? loadAssets(dir) : null;
    const hide = { schema: { hide: true } };

    app.get("/", hide, async (request, reply) => {
      const page = assets?.get("/index.html");
      if (!page)
        return reply
          .code(503)
          .type("text/plain; charset=utf-8")
          .send(`The console is not built (no ${join(dir, "index.html")}): run \`npm run build\`.\n`);
      return send(request, reply, page, "no-cache");
    });

    app.get("/assets/*", hide, async (request, reply) => {
      const asset = assets?.get(request.url.split("?")[0]!);
      if (!asset)
        return reply.code(404).send({
          statusCode: 404,
          code: "NOT_FOUND",
          error: "Not Found",
          message: `no console asset ${request.url}`,
        });
      return send(request, reply, asset, "public, max-age=31536000, immutable");
    });
  };
