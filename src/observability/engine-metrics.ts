import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { BreakerState } from "../contracts/breaker-state.ts";
import type { GateOutcome } from "../contracts/gate-outcome.ts";
import { JOB_STATES, type JobState } from "../contracts/job.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import { LANES, type QueueStats } from "../contracts/spool.ts";

/** A breaker's state as the `circuit_breaker_state` gauge reads: 0 closed, 0.5 half-open, 1 open (or isolated). */
const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, "half-open": 0.5, open: 1, isolated: 1 };

/**
 * The engine's Prometheus metrics, in a registry of its own (the HTTP app merges it into
 * `/metrics`). Spool gauges are read from the spool, and `ledger_jobs{state}` from the ledger,
 * when scraped; counters, histograms and the breaker gauge are fed by the gate, the worker, the
 * pipeline builder and queries through the `on*` hooks.
 *
 * @example
 * const metrics = new EngineMetrics(() => queue.stats(), () => ledger.countJobsByState());
 * const text = await metrics.registry.metrics();
 */
export class EngineMetrics {
  readonly registry = new Registry();
  readonly #gate: Counter<"outcome">;
  readonly #recovered: Counter;
  readonly #dlq: Counter;
  readonly #stage: Histogram<"stage">;
  readonly #stageFailures: Counter<"stage" | "code">;
  readonly #stageRetries: Counter<"stage">;
  readonly #gateSuspensions: Counter<"stage">;
  readonly #breaker: Gauge<"pipeline" | "policy" | "stage">;
  readonly #query: Histogram<"mode">;
  readonly #admission: Counter<"outcome">;
  readonly #queryCache: Counter<"cache" | "outcome">;
  readonly #segmentBytes: Gauge<"collection">;
  readonly #segmentBuild: Histogram;
  readonly #queueWait: Histogram;

  constructor(spool: () => Promise<QueueStats>, jobs?: () => Promise<Record<JobState, number>>) {
    const registers = [this.registry];
    // One read of the queue per scrape: the gauges collected together share the read in flight.
    let read: Promise<QueueStats> | null = null;
    const stats = () => {
      if (!read) {
        read = spool();
        const clear = () => {
          read = null;
        };
        read.then(clear, clear);
      }
      return read;
    };
    new Gauge({
      name: "spool_pending_total",
      help: "Live spool records (waiting or leased) per lane",
      labelNames: ["lane"],
      registers,
      async collect() {
        const s = await stats();
        for (const lane of LANES) this.set({ lane }, s.pending[lane]);
      },
    });
    new Gauge({
      name: "spool_bytes",
      help: "Bytes of live envelopes in the spool",
      registers,
      async collect() {
        this.set((await stats()).bytes);
      },
    });
    new Gauge({
      name: "spool_oldest_age_seconds",
      help: "Age of the oldest live spool record",
      registers,
      async collect() {
        this.set((await stats()).oldestAgeSeconds);
      },
    });
    new Gauge({
      name: "spool_waiting_total",
      help: "Spool records parked until a condition holds or a time passes",
      registers,
      async collect() {
        this.set((await stats()).waiting);
      },
    });
    new Gauge({
      name: "spool_suspects_total",
      help: "Spool records recovered from a crashed worker, to run alone",
      registers,
      async collect() {
        this.set((await stats()).suspects);
      },
    });
    this.#gate = new Counter({
      name: "gate_envelopes_total",
      help: "Documents through the gate, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.#recovered = new Counter({
      name: "replay_recovered_total",
      help: "Spool records recovered from workers that died holding them",
      registers,
    });
    this.#dlq = new Counter({ name: "dlq_total", help: "Documents moved to the dead-letter lane", registers });
    this.#stage = new Histogram({
      name: "stage_duration_seconds",
      help: "Time a pipeline stage took for one document",
      labelNames: ["stage"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers,
    });
    this.#stageFailures = new Counter({
      name: "stage_failures_total",
      help: "Failed stage runs of a document (after its retries), by stage and error code",
      labelNames: ["stage", "code"],
      registers,
    });
    this.#stageRetries = new Counter({
      name: "stage_retries_total",
      help: "Stage attempts that were retries, by stage",
      labelNames: ["stage"],
      registers,
    });
    this.#gateSuspensions = new Counter({
      name: "gate_suspensions_total",
      help: "Documents a stage suspended until a condition holds (OCR back, a PDF reachable), by stage",
      labelNames: ["stage"],
      registers,
    });
    this.#breaker = new Gauge({
      name: "circuit_breaker_state",
      help: "Circuit breaker of a stage's policy: 0 closed, 0.5 half-open, 1 open",
      labelNames: ["pipeline", "policy", "stage"],
      registers,
    });
    this.#query = new Histogram({
      name: "query_duration_seconds",
      help: "Time a query took (retrieval and answer), by retrieval mode",
      labelNames: ["mode"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#admission = new Counter({
      name: "query_admission_total",
      help: "Queries admitted, or refused with 503 OVERLOADED because the queue was full or their turn did not come in time",
      labelNames: ["outcome"],
      registers,
    });
    this.#queryCache = new Counter({
      name: "query_cache_total",
      help: "Query cache lookups (retrieval.cache): results by collection version, query vectors by model and text",
      labelNames: ["cache", "outcome"],
      registers,
    });
    this.#segmentBytes = new Gauge({
      name: "search_segment_bytes",
      help: "Bytes of the search segments the reader threads hold for a collection (retrieval.segments)",
      labelNames: ["collection"],
      registers,
    });
    this.#segmentBuild = new Histogram({
      name: "search_segment_build_seconds",
      help: "Time to build a collection version's search segments in the builder thread",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#queueWait = new Histogram({
      name: "query_queue_wait_seconds",
      help: "Time an admitted query waited for a free slot (api.queries)",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    if (jobs) {
      new Gauge({
        name: "ledger_jobs",
        help: "Jobs in the ledger, by state",
        labelNames: ["state"],
        registers,
        async collect() {
          const counts = await jobs();
          for (const state of JOB_STATES) this.set({ state }, counts[state]);
        },
      });
    }
  }

  readonly onGate = (outcome: GateOutcome, n: number): void => this.#gate.inc({ outcome }, n);
  readonly onRecovered = (n: number): void => this.#recovered.inc(n);
  readonly onDeadLetter = (): void => this.#dlq.inc();
  readonly onStage = (event: StageEvent): void => {
    if ((event.type === "stage.completed" || event.type === "stage.failed") && event.durationMs !== undefined)
      this.#stage.observe({ stage: event.stage }, event.durationMs / 1000);
    if (event.type === "stage.failed")
      this.#stageFailures.inc({ stage: event.stage, code: event.error?.code ?? "UNKNOWN" });
    if (event.type === "stage.retrying") this.#stageRetries.inc({ stage: event.stage });
    if (event.type === "gate.suspended") this.#gateSuspensions.inc({ stage: event.stage });
  };
  readonly onBreakerState = (labels: { pipeline: string; policy: string; stage: string }, state: BreakerState): void =>
    this.#breaker.set(labels, BREAKER_VALUE[state]);
  readonly onQuery = (mode: string, seconds: number): void => this.#query.observe({ mode }, seconds);
  readonly onQueryAdmitted = (waitMs: number): void => {
    this.#admission.inc({ outcome: "admitted" });
    this.#queueWait.observe(waitMs / 1000);
  };
  readonly onSegmentsBuilt = (collection: string, bytes: number, seconds: number): void => {
    this.#segmentBytes.set({ collection }, bytes);
    this.#segmentBuild.observe(seconds);
  };
  readonly onQueryCache = (cache: "results" | "vectors", hit: boolean): void =>
    this.#queryCache.inc({ cache, outcome: hit ? "hit" : "miss" });
  /** `full`: the admission queue was full; `timeout`: the query's turn did not come in time. */
  readonly onQueryRefused = (reason: "full" | "timeout"): void =>
    this.#admission.inc({ outcome: reason === "full" ? "refused_full" : "refused_timeout" });
}
