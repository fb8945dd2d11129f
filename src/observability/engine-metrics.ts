import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { StageEvent } from "../contracts/stage-event.ts";
import type { GateOutcome } from "../gate/gate.ts";
import { LANES, type Spool } from "../spool/spool.ts";

/**
 * The engine's Prometheus metrics, in a registry of its own (the HTTP app merges it into
 * `/metrics`). Spool gauges are read from the spool when scraped; counters and the stage
 * histogram are fed by the gate and the worker through the `on*` hooks.
 *
 * @example
 * const metrics = new EngineMetrics(() => ledger.spool());
 * const text = await metrics.registry.metrics();
 */
export class EngineMetrics {
  readonly registry = new Registry();
  readonly #gate: Counter<"outcome">;
  readonly #recovered: Counter;
  readonly #dlq: Counter;
  readonly #stage: Histogram<"stage">;

  constructor(spool: () => Spool) {
    const registers = [this.registry];
    const stats = () => spool().stats();
    new Gauge({
      name: "spool_pending_total",
      help: "Live spool records (waiting or leased) per lane",
      labelNames: ["lane"],
      registers,
      collect() {
        const s = stats();
        for (const lane of LANES) this.set({ lane }, s.pending[lane]);
      },
    });
    new Gauge({ name: "spool_bytes", help: "Bytes of live envelopes in the spool", registers, collect() { this.set(stats().bytes); } });
    new Gauge({ name: "spool_oldest_age_seconds", help: "Age of the oldest live spool record", registers, collect() { this.set(stats().oldestAgeSeconds); } });
    this.#gate = new Counter({ name: "gate_envelopes_total", help: "Documents through the gate, by outcome", labelNames: ["outcome"], registers });
    this.#recovered = new Counter({ name: "replay_recovered_total", help: "Spool records recovered from workers that died holding them", registers });
    this.#dlq = new Counter({ name: "dlq_total", help: "Documents moved to the dead-letter lane", registers });
    this.#stage = new Histogram({
      name: "stage_duration_seconds",
      help: "Time a pipeline stage took for one document",
      labelNames: ["stage"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers,
    });
  }

  readonly onGate = (outcome: GateOutcome, n: number): void => this.#gate.inc({ outcome }, n);
  readonly onRecovered = (n: number): void => this.#recovered.inc(n);
  readonly onDeadLetter = (): void => this.#dlq.inc();
  readonly onStage = (event: StageEvent): void => {
    if ((event.type === "stage.completed" || event.type === "stage.failed") && event.durationMs !== undefined) this.#stage.observe({ stage: event.stage }, event.durationMs / 1000);
  };
}
