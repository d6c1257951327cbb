// The yardstick for the Connect transport: node:http (HTTP/1.1) and node:http2 (h2c) behind the same first-bytes
// dispatch as Flux's HTTP port (startHttpServer), parsing each JSON request body and answering a fixed JSON body.
// No routing, no instrumentation, no protobuf library. Run as its own process:
//   node --import tsx bench/bare-http-server.ts PORT      (prints "listening PORT")
import type * as http from "node:http";
import { startHttpServer } from "../src/transport/connect-server.js";

const answer = Buffer.from(JSON.stringify({ valid: true, outcome: "OUTCOME_VALID" }));
const headers = { "content-length": String(answer.byteLength), "content-type": "application/json" };

const server = await startHttpServer(
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      (res as http.ServerResponse).writeHead(200, headers);
      (res as http.ServerResponse).end(answer);
    });
  },
  { host: "127.0.0.1", port: Number(process.argv[2] ?? 0) },
);
console.log(`listening ${server.port}`);
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => void server.close(100).then(() => process.exit(0)));
