/**
 * A bounded map that forgets the least recently used entry first (a Map keeps insertion order:
 * a hit re-inserts its key at the end). Size 0 holds nothing.
 *
 * @example
 * const cache = new LruCache<string, number>(2);
 * cache.set("a", 1); cache.set("b", 2); cache.get("a"); cache.set("c", 3);
 * cache.get("b"); // undefined: "b" was the least recently used
 */
export class LruCache<K, V> {
  readonly size: number;
  readonly #entries = new Map<K, V>();

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`cache size must be a whole number ≥ 0, got ${size}`);
    this.size = size;
  }

  get length(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    if (this.size === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.size) this.#entries.delete(this.#entries.keys().next().value as K);
  }

  clear(): void {
    this.#entries.clear();
  }
}
