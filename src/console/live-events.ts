import { authHeaders } from "./api.ts";

/** A CloudEvent from `/v1/events`, as the console reads it. */
export interface LiveEvent {
  id: string;
  type: string;
  subject?: string;
  jobid?: string;
  collection?: string;
  time?: string;
  data?: Record<string, unknown>;
}

export interface LiveOptions {
  /** Only this job's events. */
  job?: string;
  /** Type patterns (`job.*`, `stage.failed`). */
  types?: string[];
  onEvent: (event: LiveEvent) => void;
  /** Events were missed (server restart, buffer wrapped): reload state. Also called after a reconnect gap. */
  onReset: () => void;
  /** Connection state, for the status dot. */
  onStatus?: (connected: boolean) => void;
}

/**
 * Follows `/v1/events` (Server-Sent Events) with the user's token: `EventSource` cannot send an
 * Authorization header, so this reads the stream with `fetch`. It reconnects after a drop with
 * `Last-Event-ID` (after the server's `retry` delay), so no event is missed or repeated. Returns
 * the function that stops it.
 *
 * @example
 * const stop = followEvents({ types: ["job.*"], onEvent: (e) => update(e), onReset: reload });
 */
export function followEvents(options: LiveOptions): () => void {
  const controller = new AbortController();
  let lastId: string | undefined;
  let retryMs = 2000;

  const dispatch = (id: string | undefined, event: string, data: string) => {
    if (id !== undefined) lastId = id;
    if (event === "io.sluice.stream.reset") return options.onReset();
    try {
      options.onEvent({ ...(JSON.parse(data) as Omit<LiveEvent, "id">), id: id ?? "" });
    } catch {
      // A frame that is not JSON is not ours to show.
    }
  };

  const read = async (res: Response) => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let id: string | undefined;
    let event = "message";
    let data: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r?\n/);
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") {
          if (data.length > 0) dispatch(id, event, data.join("\n"));
          id = undefined;
          event = "message";
          data = [];
        } else if (line.startsWith(":")) continue;
        else {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "id") id = val;
          else if (field === "event") event = val;
          else if (field === "data") data.push(val);
          else if (field === "retry" && /^\d+$/.test(val)) retryMs = Number(val);
        }
      }
    }
  };

  const loop = async () => {
    while (!controller.signal.aborted) {
      const params = new URLSearchParams();
      if (options.job) params.set("job", options.job);
      for (const t of options.types ?? []) params.append("type", t);
      try {
        const res = await fetch(`/v1/events?${params}`, {
          headers: { accept: "text/event-stream", ...authHeaders(), ...(lastId ? { "last-event-id": lastId } : {}) },
          signal: controller.signal,
        });
        if (res.ok && res.body) {
          options.onStatus?.(true);
          await read(res);
        }
      } catch {
        // Dropped or refused: try again after the retry delay.
      }
      options.onStatus?.(false);
      if (controller.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  };
  void loop();
  return () => controller.abort();
}
