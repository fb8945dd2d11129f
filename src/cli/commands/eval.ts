import type { Command } from "commander";
import type { RetrievalMode } from "../../retrieval/retriever.ts";
import { withSluice } from "../context.ts";
import { printJson, println } from "../output.ts";
import { parseMode } from "./query.ts";

export function registerEval(program: Command): void {
  program
    .command("eval")
    .description("ingest a BEIR-form folder into a scratch collection and print nDCG@10, recall@10, MRR@10")
    .argument("<beir-dir>", "folder with corpus.jsonl, queries.jsonl, qrels/test.tsv")
    .option("-m, --mode <mode>", "one mode (default: lexical, dense and hybrid)")
    .option("-p, --pipeline <name|file>", "pipeline to ingest the corpus with", "auto")
    .action(async (dir: string, opts: { mode?: string; pipeline: string }, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const { runEval } = await import("../../eval/run-eval.ts");
        const modes: RetrievalMode[] = opts.mode ? [parseMode(opts.mode)] : ["lexical", "dense", "hybrid"];
        const results = await runEval(sluice, dir, modes, {
          pipeline: opts.pipeline,
          onIngested: (s, n) => {
            if (!g.json) process.stderr.write(`ingested ${n} documents in ${s.toFixed(1)} s\n`);
          },
        });
        if (g.json) return printJson(results.length === 1 ? results[0] : { results });
        println(`mode      queries  nDCG@10  recall@10  MRR@10`);
        for (const r of results)
          println(
            `${r.mode.padEnd(9)} ${String(r.queries).padStart(7)}  ${r["ndcg@10"].toFixed(4)}   ${r["recall@10"].toFixed(4)}    ${r["mrr@10"].toFixed(4)}`,
          );
      });
    });
}
