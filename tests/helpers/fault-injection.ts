/**
 * Preload (`node --import tsx --import ./tests/helpers/fault-injection.ts …`) that gives the hash
 * embedder the faults of a real model, from the environment:
 * - SLUICE_TEST_POISON: a text containing this marker kills the process (SIGKILL), as a native
 *   crash in a parser or a model would: a poison document.
 * - SLUICE_TEST_WARMUP_MS: loading the model takes this long, as the bundled model's does.
 * - SLUICE_TEST_EMBED_MS: each embedding call takes this long (a slow model, work to cancel).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { HashEmbedder } from "../../src/models/backends/hash-embedder.ts";

const marker = process.env["SLUICE_TEST_POISON"];
if (marker) {
  const proto = HashEmbedder.prototype;
  const embedOne = Object.getOwnPropertyDescriptor(proto, "embedOne")!.value as (
    this: HashEmbedder,
    text: string,
  ) => Float32Array;
  proto.embedOne = function (this: HashEmbedder, text: string): Float32Array {
    if (text.includes(marker)) process.kill(process.pid, "SIGKILL");
    return embedOne.call(this, text);
  };
}

const warmUpMs = Number(process.env["SLUICE_TEST_WARMUP_MS"] ?? 0);
if (warmUpMs > 0) {
  HashEmbedder.prototype.warmUp = async function (this: HashEmbedder): Promise<void> {
    await sleep(warmUpMs);
  };
}

const embedMs = Number(process.env["SLUICE_TEST_EMBED_MS"] ?? 0);
if (embedMs > 0) {
  const proto = HashEmbedder.prototype;
  const embed = Object.getOwnPropertyDescriptor(proto, "embed")!.value as HashEmbedder["embed"];
  proto.embed = async function (
    this: HashEmbedder,
    ...args: Parameters<HashEmbedder["embed"]>
  ): Promise<Float32Array[]> {
    await sleep(embedMs);
    return embed.apply(this, args);
  };
}
