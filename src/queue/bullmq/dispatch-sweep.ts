import type { RecordQueue } from "../work-queue.ts";
import type { LaneTokens } from "./lane-tokens.ts";

/**
 * Offers a token for every record the record queue would dispatch, a page at a time, in seq
 * order from a cursor that wraps around. Offering is idempotent (one token id per record), so
 * sweeps from several processes at once, or over records that already have tokens, do no harm.
 *
 * Used twice by the BullMQ queue: a full pass (a rebuild, after Redis lost its keys or came back
 * from an outage) and a slow periodic pass that finds orphans (records whose process died between
 * its SQL commit and its Redis write).
 *
 * @example
 * const sweep = new DispatchSweep(records, tokens, 1_000);
 * while (!(await sweep.page()).wrapped);
 */
export class DispatchSweep {
  readonly #records: RecordQueue;
  readonly #tokens: LaneTokens;
  readonly #pageSize: number;
  #cursor = 0;

  constructor(records: RecordQueue, tokens: LaneTokens, pageSize: number) {
    this.#records = records;
    this.#tokens = tokens;
    this.#pageSize = pageSize;
  }

  /** Offers one page; `wrapped` when it reached the end (the next page starts over). */
  async page(): Promise<{ offered: number; wrapped: boolean }> {
    const page = await this.#records.dispatchable({ afterSeq: this.#cursor, limit: this.#pageSize });
    if (page.length > 0) await this.#tokens.offer(page);
    const wrapped = page.length < this.#pageSize;
    this.#cursor = wrapped ? 0 : page[page.length - 1]!.seq;
    return { offered: page.length, wrapped };
  }
}
