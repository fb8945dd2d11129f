import { LANES, type Lane } from "./work-queue.ts";

/**
 * Picks up to `max` of the ready items lane-fairly: each lane with work gets its weighted share
 * (at least one), then any room left goes to whoever still has items, so an idle lane's share is
 * not wasted. Items keep their order within a lane.
 *
 * @example
 * fairShare(new Map([["high", highRows], ["bulk", bulkRows]]), 100, { high: 6, normal: 3, bulk: 1 });
 */
export function fairShare<T>(
  ready: ReadonlyMap<Lane, readonly T[]>,
  max: number,
  weights: Readonly<Record<Lane, number>>,
): T[] {
  const total = [...ready.keys()].reduce((a, l) => a + weights[l], 0);
  const chosen: T[] = [];
  const taken = new Map<Lane, number>();
  for (const [lane, items] of ready) {
    const share = Math.max(1, Math.floor((max * weights[lane]) / total));
    const n = Math.min(share, items.length, max - chosen.length);
    chosen.push(...items.slice(0, n));
    taken.set(lane, n);
  }
  for (const lane of LANES) {
    const items = ready.get(lane);
    if (!items) continue;
    const from = taken.get(lane) ?? 0;
    const n = Math.min(items.length - from, max - chosen.length);
    if (n > 0) chosen.push(...items.slice(from, from + n));
  }
  return chosen;
}
