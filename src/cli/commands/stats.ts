import type { Command } from "commander";
import { withSluice } from "../context.ts";
import { printJson, println } from "../output.ts";

export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("documents and chunks in a collection")
    .option("-c, --collection <name>", "collection", "default")
    .action(async (opts: { collection: string }, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const info = await sluice.stats(opts.collection);
        const out = {
          collection: info.name,
          documents: info.documents,
          chunks: info.chunks,
          pending: info.pending,
          embedder: info.embedder,
          dimensions: info.dimensions,
        };
        if (g.json) printJson(out);
        else
          println(
            `${out.collection}: ${out.documents} documents, ${out.chunks} chunks${out.pending > 0 ? `, ${out.pending} still to come` : ""}${out.embedder ? `, vectors from ${out.embedder} (${out.dimensions}-d)` : ""}`,
          );
      });
    });

  program
    .command("delete")
    .description("delete a document from a collection (every index)")
    .argument("<docId>", "document id")
    .option("-c, --collection <name>", "collection", "default")
    .action(async (docId: string, opts: { collection: string }, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        await sluice.deleteDocument(opts.collection, docId);
        if (g.json) printJson({ collection: opts.collection, docId, deleted: true });
        else println(`deleted ${docId} from ${opts.collection}`);
      });
    });
}
