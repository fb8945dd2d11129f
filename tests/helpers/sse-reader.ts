/** One Server-Sent Events frame as a reader sees it. */
export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

/**
 * Reads a Server-Sent Events stream over real HTTP (fetch), collecting frames as they come, for
 * tests of `/v1/events`: `frames` grows as the server writes; `close()` drops the connection.
 *
 * @example
 * const sse = await openSse(`${base}/v1/events?type=job.*`);
 * await eventually(() => sse.frames.length > 0, "an event");
 * sse.close();
 */
export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; frames: SseFrame[]; comments: string[]; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: controller.signal });
  const frames: SseFrame[] = [];
  const comments: string[] = [];
  if (res.ok && res.body) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buffer = "";
      let frame: Partial<SseFrame> & { data?: string } = {};
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          const lines = buffer.split("\n");
          buffer = lines.pop() ?? "";
          for (const line of lines) {
            if (line === "") {
              if (frame.data !== undefined) frames.push({ event: "message", ...frame, data: frame.data });
              frame = {};
            } else if (line.startsWith(":")) comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(":");
              const field = line.slice(0, colon);
              const val = line.slice(colon + 1).replace(/^ /, "");
              if (field === "id") frame.id = val;
              else if (field === "event") frame.event = val;
              else if (field === "data") frame.data = frame.data === undefined ? val : `${frame.data}\n${val}`;
            }
          }
        }
      } catch {
        // Aborted by close().
      }
    })();
  }
  return { status: res.status, headers: res.headers, frames, comments, close: () => controller.abort() };
}
