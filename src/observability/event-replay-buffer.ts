import { randomBytes } from "node:crypto";
import type { SluiceCloudEvent, StageEventStream } from "./cloudevents.ts";

/** An event with the id a Server-Sent Events client echoes back in `Last-Event-ID`. */
export interface NumberedEvent {
  id: string;
  event: SluiceCloudEvent;
}

/** What a reader asked to resume after, answered by {@link EventReplayBuffer.since}. */
export interface Replay {
  events: NumberedEvent[];
  /**
   * True when events after the reader's id are gone (the buffer wrapped past them, or the id is
   * from another process): the reader should reload its state instead of patching it.
   */
  gap: boolean;
}

/**
 * The last `capacity` events of a stream, numbered, so a Server-Sent Events client that drops
 * its connection resumes where it stopped (`Last-Event-ID`) without missing or repeating one.
 * Ids are `<epoch>-<seq>`: `epoch` is random per buffer, so an id from before a restart is
 * recognised as such (a gap) rather than matched against new numbers.
 *
 * @example
 * const buffer = new EventReplayBuffer(sluice.events);
 * const stop = buffer.listen((e) => send(e));
 * const { events, gap } = buffer.since(request.headers["last-event-id"]);
 */
export class EventReplayBuffer {
  readonly epoch = randomBytes(4).toString("hex");
  readonly capacity: number;
  readonly #ring: NumberedEvent[] = [];
  #next = 1;
  readonly #listeners = new Set<(e: NumberedEvent) => void>();
  readonly #unsubscribe: () => void;

  constructor(stream: StageEventStream, capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer`);
    this.capacity = capacity;
    this.#unsubscribe = stream.subscribe((event) => this.#add(event));
  }

  #add(event: SluiceCloudEvent): void {
    const numbered = { id: `${this.epoch}-${this.#next++}`, event };
    this.#ring.push(numbered);
    if (this.#ring.length > this.capacity) this.#ring.splice(0, this.#ring.length - this.capacity);
    for (const listener of this.#listeners) listener(numbered);
  }

  /** The id the next event will get less one: where a reader that wants only new events starts. */
  get lastId(): string {
    return `${this.epoch}-${this.#next - 1}`;
  }

  /**
   * The buffered events after `lastEventId` (none when it is absent: a new reader starts now). An
   * id this buffer did not issue, or one older than what it still holds, is a gap.
   */
  since(lastEventId: string | undefined): Replay {
    if (lastEventId === undefined || lastEventId === "") return { events: [], gap: false };
    const dash = lastEventId.lastIndexOf("-");
    const seq = Number(lastEventId.slice(dash + 1));
    if (lastEventId.slice(0, dash) !== this.epoch || !Number.isInteger(seq) || seq < 0 || seq >= this.#next)
      return { events: this.#ring.slice(), gap: true };
    const oldest = this.#next - this.#ring.length; // seq of #ring[0]
    if (seq + 1 < oldest) return { events: this.#ring.slice(), gap: true };
    return { events: this.#ring.slice(seq + 1 - oldest), gap: false };
  }

  /** Calls `listener` with every event from now on; returns the function that stops it. */
  listen(listener: (e: NumberedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Readers listening now. */
  get listeners(): number {
    return this.#listeners.size;
  }

  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }
}
