/**
 * The k best (score, id) pairs seen so far: a binary min-heap on parallel typed arrays, so
 * offering a candidate that cannot enter costs one comparison. Among equal scores the first
 * offered stays (segments offer in rowid order, as SQLite returns ties).
 *
 * @example
 * const top = new TopK(2);
 * top.offer(0.5, 7); top.offer(0.9, 3); top.offer(0.1, 9);
 * top.sorted(); // [{ score: 0.9, id: 3 }, { score: 0.5, id: 7 }]
 */
export class TopK {
  readonly #k: number;
  readonly #scores: Float64Array;
  readonly #ids: Float64Array;
  #size = 0;

  constructor(k: number) {
    this.#k = Math.max(0, k);
    this.#scores = new Float64Array(this.#k);
    this.#ids = new Float64Array(this.#k);
  }

  /** The score a candidate must beat once k are held; -Infinity before. */
  get threshold(): number {
    return this.#size === this.#k && this.#k > 0 ? this.#scores[0]! : -Infinity;
  }

  /** Offers a candidate; true when it was kept and the heap is full (the threshold may have risen). */
  offer(score: number, id: number): boolean {
    if (this.#k === 0) return false;
    if (this.#size < this.#k) {
      this.#up(this.#size++, score, id);
      return this.#size === this.#k;
    }
    if (!(score > this.#scores[0]!)) return false;
    this.#down(score, id);
    return true;
  }

  /** Best first; equal scores by id ascending. */
  sorted(): Array<{ score: number; id: number }> {
    const out: Array<{ score: number; id: number }> = [];
    for (let i = 0; i < this.#size; i++) out.push({ score: this.#scores[i]!, id: this.#ids[i]! });
    return out.sort((a, b) => b.score - a.score || a.id - b.id);
  }

  /** Lower in the heap's order: smaller score, or the same score offered later (larger id). */
  #below(s1: number, i1: number, s2: number, i2: number): boolean {
    return s1 < s2 || (s1 === s2 && i1 > i2);
  }

  #up(at: number, score: number, id: number): void {
    const s = this.#scores;
    const ids = this.#ids;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.#below(score, id, s[parent]!, ids[parent]!)) break;
      s[at] = s[parent]!;
      ids[at] = ids[parent]!;
      at = parent;
    }
    s[at] = score;
    ids[at] = id;
  }

  /** Replaces the root with (score, id) and sifts it down. */
  #down(score: number, id: number): void {
    const s = this.#scores;
    const ids = this.#ids;
    const n = this.#size;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#below(s[right]!, ids[right]!, s[left]!, ids[left]!) ? right : left;
      if (!this.#below(s[child]!, ids[child]!, score, id)) break;
      s[at] = s[child]!;
      ids[at] = ids[child]!;
      at = child;
    }
    s[at] = score;
    ids[at] = id;
  }
}
