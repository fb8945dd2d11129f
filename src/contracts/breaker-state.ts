/**
 * A circuit breaker's state, as metrics and logs name it (`circuit_breaker_state`): set by the
 * pipeline's resilience policies, read by observability.
 *
 * @example
 * const value: Record<BreakerState, number> = { closed: 0, "half-open": 0.5, open: 1, isolated: 1 };
 */
export type BreakerState = "closed" | "open" | "half-open" | "isolated";
