import type { Command } from "commander";
import { parseCliFilter } from "../../store/meta-filter.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { RETRIEVAL_MODES, type RetrievalMode } from "../../retrieval/retriever.ts";
import { withSluice } from "../context.ts";
import { printJson, println } from "../output.ts";

export function parseMode(mode: string): RetrievalMode {
  if (!(RETRIEVAL_MODES as readonly string[]).includes(mode)) {
    throw new SluiceError("VALIDATION_FAILED", `unknown mode "${mode}"; modes: ${RETRIEVAL_MODES.join(", ")}`);
  }
  return mode as RetrievalMode;
}

export function parseK(k: string): number {
  const n = Number(k);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new SluiceError("VALIDATION_FAILED", `--k must be an integer from 1 to 1000, got "${k}"`);
  return n;
}

export function registerQuery(program: Command): void {
  program
    .command("query")
    .description("search a collection and answer with citations")
    .argument("<text>", "the question or query")
    .option("-c, --collection <name>", "collection", "default")
    .option("-m, --mode <mode>", `retrieval mode: ${RETRIEVAL_MODES.join(" | ")}`, "hybrid")
    .option("-k, --k <n>", "results to return", "10")
    .option("--no-answer", "retrieve only, no answer")
    .option("--rerank", "rerank the candidates first (retrieval.rerank; default: its enabled)")
    .option("--no-rerank", "do not rerank, whatever retrieval.rerank.enabled says")
    .option("--cursor <cursor>", "the next page of the same query: the cursor the last page printed")
    .option("-p, --pipeline <name|file>", "the query pipeline to run (default retrieval.pipeline: query)")
    .option(
      "-f, --filter <expr>",
      "only documents whose metadata matches: key=value, key=a,b, key>=v, key<=v, key>v, key<v (repeat to AND)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(
      async (
        text: string,
        opts: {
          collection: string;
          mode: string;
          k: string;
          answer: boolean;
          rerank?: boolean;
          filter: string[];
          cursor?: string;
          pipeline?: string;
        },
        command: Command,
      ) => {
        await withSluice(
          command,
          async (sluice, g) => {
            const response = await sluice.query({
              collection: opts.collection,
              query: text,
              mode: parseMode(opts.mode),
              k: parseK(opts.k),
              answer: opts.answer,
              ...(opts.rerank !== undefined ? { rerank: opts.rerank } : {}),
              ...(opts.filter.length > 0 ? { filter: parseCliFilter(opts.filter) } : {}),
              ...(opts.cursor ? { cursor: opts.cursor } : {}),
              ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
            });
            if (g.json) return printJson(response);
            if (response.answer) {
              println(response.answer.text);
              println();
              for (const c of response.answer.citations)
                println(`[${c.n}] ${c.source}${c.page ? ` p.${c.page}` : ""} (${c.chunkId})`);
              println();
            }
            println(
              `top ${response.results.length} (${response.mode}${response.rerankedBy ? `, reranked by ${response.rerankedBy}` : ""}):`,
            );
            response.results.forEach((r, i) =>
              println(
                `${String(i + 1).padStart(3)}. ${r.score.toFixed(4)}  ${r.source}${r.page ? ` p.${r.page}` : ""}  ${r.text.replace(/\s+/g, " ").slice(0, 90)}`,
              ),
            );
            if (response.nextCursor) println(`next page: --cursor ${response.nextCursor}`);
          },
          { oneShot: true },
        );
      },
    );
}
