// The yardstick for the gRPC transport: a bare @grpc/grpc-js server answering /flux.apikeys.v1.PingService/Ping
// with an empty message, no instrumentation, no protobuf library, and ValidateApiKey with a fixed answer the size of
// Flux's (the transport's own cost of validate's larger messages: goal 2's floor). Run as its own process:
//   node --import tsx bench/bare-grpc-server.ts PORT      (prints "listening PORT")
import { PerformanceObserver } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";

const port = Number(process.argv[2] ?? 0);
const empty = Buffer.alloc(0);
// A VALID answer as Flux encodes it for a cache-hot key (outcome, key id, org, name, rate limit, last used): 70 bytes.
const validAnswer = Buffer.from("CAEQARolChhrZXlfcUdueFdadUFINTdGakt0TGd2MjUSBW9yZ18xGgJrMCIZCICU69wDEP2T69wDGgsI97vD2AYQwPzwNQ==", "base64");
const server = new grpc.Server();
server.addService(
  {
    ping: {
      path: "/flux.apikeys.v1.PingService/Ping",
      requestStream: false,
      responseStream: false,
      requestSerialize: () => empty,
      requestDeserialize: () => ({}),
      responseSerialize: () => empty,
      responseDeserialize: () => ({}),
    },
  } as grpc.ServiceDefinition,
  { ping: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, {}) },
);
server.addService(
  {
    validateApiKey: {
      path: "/flux.apikeys.v1.ApiKeyService/ValidateApiKey",
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => validAnswer,
      responseDeserialize: (b: Buffer) => b,
    },
  } as grpc.ServiceDefinition,
  { validateApiKey: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, {}) },
);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(`listening ${p}`);
});
// The longest GC pause since the last SIGUSR2, printed on SIGUSR2 ("gc-max MS"): Flux's /metrics figure, for the floor.
let gcMaxMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, e.duration);
});
gcObserver.observe({ entryTypes: ["gc"] });
process.on("SIGUSR2", () => {
  console.log(`gc-max ${gcMaxMs}`);
  gcMaxMs = 0;
});
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => server.tryShutdown(() => process.exit(0)));
