import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";

export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    callback: (err: grpc.ServiceError | null, reply?: { status: ServingStatus }) => void,
  ): grpc.ClientUnaryCall;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: ServingStatus }>;
}

const pkg = grpc.loadPackageDefinition(
  protoLoader.loadSync(protoPath, { enums: String, defaults: true }),
) as unknown as {
  grpc: { health: { v1: { Health: new (address: string, credentials: grpc.ChannelCredentials) => HealthClient } } };
};

/**
 * A grpc.health.v1 client, as a load balancer or kubelet would use it.
 *
 * @example
 * const health = healthClient(server.address);
 * assert.equal(await health.check("sluice.model.v1.Embedder"), "SERVING");
 */
export function healthClient(address: string, credentials = grpc.credentials.createInsecure()) {
  const client = new pkg.grpc.health.v1.Health(address, credentials);
  return {
    check: (service: string) =>
      new Promise<ServingStatus>((resolve, reject) =>
        client.Check({ service }, (err, reply) => (err ? reject(err) : resolve(reply!.status))),
      ),
    /** Statuses a Watch stream delivers, pushed into `seen` as they arrive. */
    watch(service: string) {
      const seen: ServingStatus[] = [];
      const stream = client.Watch({ service });
      stream.on("data", (m: { status: ServingStatus }) => seen.push(m.status));
      stream.on("error", () => undefined);
      return { seen, cancel: () => stream.cancel() };
    },
    close: () => client.close(),
  };
}

/** Polls until `predicate` holds (for asynchronous pushes such as Watch), or fails after `ms`. */
export { eventually } from "./eventually.ts";
