/**
 * Preload (`node --import tsx --import ./bench/scale/heavy-embedder.ts src/cli/main.ts …`) that
 * turns the hash embedder into a CPU-heavy stand-in for a real model: each text is embedded
 * SLUICE_BENCH_EMBED_REPEAT times (default 1: unchanged) and the last vector is returned, so the
 * index is the same as with the plain hash embedder and only the CPU spent per text grows. A
 * worker then spends most of its time in pure JavaScript on its own main thread, which is what
 * scale-out across processes has to parallelise.
 */
import { HashEmbedder } from "../../src/models/backends/hash-embedder.ts";

const repeat = Number(process.env["SLUICE_BENCH_EMBED_REPEAT"] ?? 1);
if (!Number.isInteger(repeat) || repeat < 1)
  throw new RangeError(
    `SLUICE_BENCH_EMBED_REPEAT must be a positive integer, got ${process.env["SLUICE_BENCH_EMBED_REPEAT"]}`,
  );

if (repeat > 1) {
  const proto = HashEmbedder.prototype;
  const embedOne = Object.getOwnPropertyDescriptor(proto, "embedOne")!.value as (
    this: HashEmbedder,
    text: string,
  ) => Float32Array;
  proto.embedOne = function (this: HashEmbedder, text: string): Float32Array {
    // The discarded results keep their work: each call allocates and fills a fresh vector.
    for (let i = 1; i < repeat; i++) embedOne.call(this, text);
    return embedOne.call(this, text);
  };
}
