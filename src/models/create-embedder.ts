import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import type { EmbedderConfig } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import { HashEmbedder } from "./backends/hash-embedder.ts";
import { OnnxEmbedder } from "./backends/onnx-embedder.ts";
import { OpenAIEmbedder } from "./backends/openai-embedder.ts";
import { StaticEmbedder } from "./backends/static-embedder.ts";
import { UseLiteEmbedder } from "./backends/use-lite-embedder.ts";
import type { DenseEmbedder } from "./ports.ts";

/** The user's cache folder for Sluice: `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`. */
function userCacheDir(): string {
  const xdg = process.env["XDG_CACHE_HOME"];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "sluice");
}

const KNOWN_BACKENDS = ["static", "use-lite", "onnx", "openai", "hash"] as const;

/** Where the embedder runs: the data folder, for backends that keep a cache there (`static`). */
export interface EmbedderContext {
  dataDir?: string;
}

/**
 * Builds the dense embedder a (parsed) config names. Nothing is loaded yet: call `warmUp()`, or
 * let the first `embed()` do it. Wrap the result in a `MicroBatcher` where many documents embed
 * concurrently. `static` keeps its word cache in `context.dataDir` (or its own `cacheDir`); with
 * neither, in memory only.
 *
 * @example
 * const embedder = createEmbedder({ backend: "hash", dimensions: 256, batchSize: 256 });
 * await embedder.warmUp();
 */
export function createEmbedder(config: EmbedderConfig, context: EmbedderContext = {}): DenseEmbedder {
  switch (config.backend) {
    case "static": {
      const dir = config.cacheDir ?? context.dataDir;
      return new StaticEmbedder({
        a: config.a,
        batchSize: config.batchSize,
        memoryWords: config.memoryWords,
        ...(dir === undefined ? {} : { cachePath: join(dir, "static-embedder.db") }),
        ...(config.pieceCacheDir === false
          ? {}
          : { seedPath: join(config.pieceCacheDir ?? userCacheDir(), "static-pieces.db") }),
      });
    }
    case "use-lite":
      return new UseLiteEmbedder(config);
    case "onnx":
      return new OnnxEmbedder(config);
    case "openai":
      return new OpenAIEmbedder(config);
    case "hash":
      return new HashEmbedder(config);
    default: {
      const backend: unknown = (config as { backend?: unknown }).backend;
      throw new SluiceError(
        "CONFIG_INVALID",
        `unknown embedder backend ${JSON.stringify(backend)}; known backends: ${KNOWN_BACKENDS.join(", ")}`,
        {
          details: { backend, known: [...KNOWN_BACKENDS] },
        },
      );
    }
  }
}
