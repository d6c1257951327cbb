// Typed access to scripts/test-pki.mjs: a throwaway CA made with openssl at test time, and TLS clients for it.
// @ts-expect-error plain ESM script without types
import { createTestPki as createPki } from "../../scripts/test-pki.mjs";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import * as tls from "node:tls";
import { PingRequestSchema, PingResponseSchema } from "../../gen/ts/flux/apikeys/v1/ping_service_pb.js";

export interface IssuedCert {
  cert: string;
  key: string;
  /** Upper-case hex, as node's X509Certificate.serialNumber and tls' getPeerCertificate().serialNumber give it. */
  serial: string;
}

export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  issueServer(fileName?: string, serialHex?: string): IssuedCert;
  issueClient(fileName?: string, serialHex?: string): IssuedCert;
  remove(): void;
}

export const createTestPki = createPki as (opts?: { dir?: string; name?: string }) => TestPki;


/** A grpc-js client over TLS trusting `caFile`, with a client certificate when `identity` is given. */
export function grpcTlsClient(port: number, caFile: string, identity?: IssuedCert): grpc.Client {
  const creds = grpc.credentials.createSsl(
    readFileSync(caFile),
    identity ? readFileSync(identity.key) : null,
    identity ? readFileSync(identity.cert) : null,
  );
  // The certificate names localhost; connecting by IP keeps the test off IPv6-first resolution.
  return new grpc.Client(`127.0.0.1:${port}`, creds, { "grpc.ssl_target_name_override": "localhost", "grpc.default_authority": "localhost" });
}

/** One Ping over `client`; rejects with the grpc-js ServiceError. */
export function grpcPing(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      "/flux.apikeys.v1.PingService/Ping",
      (v: unknown) => Buffer.from(toBinary(PingRequestSchema, create(PingRequestSchema, v as never))),
      (b: Buffer) => fromBinary(PingResponseSchema, b),
      {},
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
}

/** A fresh TLS handshake: the serial of the certificate the server presents and the protocol ALPN chose. */
export function handshake(port: number, caFile: string, alpn: string[], identity?: IssuedCert): Promise<{ serial: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ca: readFileSync(caFile),
      ALPNProtocols: alpn,
      ...(identity ? { cert: readFileSync(identity.cert), key: readFileSync(identity.key) } : {}),
    });
    socket.once("secureConnect", () => {
      const result = { serial: socket.getPeerCertificate().serialNumber, alpn: socket.alpnProtocol ?? false };
      socket.end();
      resolve(result);
    });
    socket.once("error", reject);
  });
}
