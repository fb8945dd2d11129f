/**
 * What the gate did with a batch of documents, as the `gate_envelopes_total{outcome}` metric
 * counts it: accepted into the queue, rejected (invalid), or pushed back (the queue is full).
 *
 * @example
 * const onOutcome = (outcome: GateOutcome, n: number) => counter.inc({ outcome }, n);
 */
export type GateOutcome = "accepted" | "rejected" | "backpressure";
