import type { ServerResponse } from "node:http";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { Sluice } from "../../engine/sluice.ts";
import type { NumberedEvent } from "../../observability/event-replay-buffer.ts";
import { EventReplayBuffer } from "../../observability/event-replay-buffer.ts";
import { eventTypeMatcher } from "../../observability/event-type-matcher.ts";
import { toDocSchema } from "../doc-schema.ts";
import { TenantScope } from "../tenant-scope.ts";
import { validate } from "../validate.ts";

/** How often an idle stream sends a comment line, so proxies and the browser keep it open. */
export const EVENTS_HEARTBEAT_MS = 15_000;

const EventsQuerySchema = z.strictObject({
  job: z.string().min(1).max(200).optional().describe("Only events of this job"),
  type: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe("Only these types, * as a wildcard (io.sluice.job.*, stage.failed); repeatable"),
  lastEventId: z
    .string()
    .max(100)
    .optional()
    .describe("Resume after this event id (the Last-Event-ID header wins when both are sent)"),
});

/** One Server-Sent Events frame: the event's id, its CloudEvents type as the SSE event name, its JSON. */
function frame(e: NumberedEvent): string {
  return `id: ${e.id}\nevent: ${e.event.type}\ndata: ${JSON.stringify(e.event)}\n\n`;
}

/**
 * `GET /v1/events`: the engine's CloudEvents (stage and job lifecycle) as Server-Sent Events,
 * the caller's tenant only, filtered by `job` and `type`. A reader that reconnects with
 * `Last-Event-ID` gets what it missed from a replay buffer of the last 10,000 events; when those
 * are gone (or the server restarted) it first gets an `io.sluice.stream.reset` event, its cue to
 * reload state. The stream sends `: ping` every 15 s while idle.
 *
 * @example
 * await app.register(eventRoutes({ sluice }), { prefix: "/v1" });
 * // curl -N localhost:8080/v1/events?type=job.*
 */
export const eventRoutes = (options: { sluice: Sluice; capacity?: number }): FastifyPluginAsync =>
  async function eventRoutes(app) {
    const buffer = new EventReplayBuffer(options.sluice.events, options.capacity);
    const open = new Set<ServerResponse>();
    // A server shutting down ends open streams, so app.close() does not wait on them.
    app.addHook("preClose", async () => {
      for (const res of open) res.end();
    });
    app.addHook("onClose", async () => buffer.close());

    app.get(
      "/events",
      {
        schema: {
          summary: "Lifecycle CloudEvents as Server-Sent Events",
          tags: ["events"],
          querystring: toDocSchema(EventsQuerySchema),
          produces: ["text/event-stream"],
        },
      },
      async (request, reply) => {
        const query = validate(EventsQuerySchema, request.query, "query");
        const tenant = TenantScope.of(request.principal).tenant;
        const types = query.type === undefined ? [] : Array.isArray(query.type) ? query.type : [query.type];
        const matchType = eventTypeMatcher(types);
        const wanted = (e: NumberedEvent) =>
          e.event["tenant"] === tenant &&
          (query.job === undefined || e.event["jobid"] === query.job) &&
          matchType(e.event.type);
        const header = request.headers["last-event-id"];
        const resumeFrom = (Array.isArray(header) ? header[0] : header) ?? query.lastEventId;

        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          connection: "keep-alive",
          "x-accel-buffering": "no",
        });
        // No await from the replay to `listen`: nothing is published in between, so nothing is lost or sent twice.
        const { events, gap } = buffer.since(resumeFrom);
        let out = `retry: 2000\n\n`;
        if (gap) out += `id: ${buffer.lastId}\nevent: io.sluice.stream.reset\ndata: {}\n\n`;
        for (const e of gap ? [] : events) if (wanted(e)) out += frame(e);
        res.write(out);
        const stop = buffer.listen((e) => {
          if (wanted(e)) res.write(frame(e));
        });
        const heartbeat = setInterval(() => res.write(": ping\n\n"), EVENTS_HEARTBEAT_MS);
        heartbeat.unref();
        const end = () => {
          clearInterval(heartbeat);
          stop();
          open.delete(res);
        };
        open.add(res);
        res.once("close", end);
      },
    );
  };
