// The Node entry over TLS: `Flux.init(adminKey, { url: "https://…", ca })` against a server with a certificate from
// a CA made at test time, over gRPC and Connect; client certificates for mTLS; a wrong CA is a clear error.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServerTls } from "../../../src/transport/tls.js";
import { createTestPki, type IssuedCert, type TestPki } from "../../../test/support/tls-certs.js";
import { Flux, type NodeProtocol, UnavailableError } from "../src/node.js";
import { ADMIN_KEY, newOrg, PROTOCOLS, rejection } from "./helpers.js";
import { startTestServer, type TestServer } from "../../../test/support/server.js";

let pki: TestPki;
let wrong: TestPki;
let serverCert: IssuedCert;
let clientCert: IssuedCert;
let ca: string;
beforeAll(() => {
  pki = createTestPki();
  wrong = createTestPki({ name: "Not The Flux CA" });
  serverCert = pki.issueServer();
  clientCert = pki.issueClient();
  ca = readFileSync(pki.caCert, "utf8");
});
afterAll(() => {
  pki?.remove();
  wrong?.remove();
});

const httpsUrl = (t: TestServer, protocol: NodeProtocol) => `https://127.0.0.1:${protocol === "grpc" ? t.server.grpcPort : t.server.httpPort}`;

describe("a Flux serving TLS", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer("embedded", "sdk-ts-tls", { tls: loadServerTls({ certFile: serverCert.cert, keyFile: serverCert.key }) });
  });
  afterAll(() => t?.stop());

  for (const protocol of PROTOCOLS) {
    it(`issues and validates keys over ${protocol} with Flux.init(adminKey, { url: "https://…", ca })`, async () => {
      const flux = Flux.init(ADMIN_KEY, { url: httpsUrl(t, protocol), transport: protocol, ca });
      try {
        const key = await flux.apiKeys.create({ orgId: newOrg(), name: "over TLS" });
        expect((await flux.apiKeys.validate(key.secret)).id).toBe(key.id);
      } finally {
        flux.close();
      }
    });

    it(`fails with UnavailableError naming the certificate when ${protocol} trusts another CA`, async () => {
      const flux = Flux.init(ADMIN_KEY, { url: httpsUrl(t, protocol), transport: protocol, ca: readFileSync(wrong.caCert) });
      try {
        const err = await rejection(flux.ping());
        expect(err).toBeInstanceOf(UnavailableError);
        // connect-node reports this as INTERNAL; the SDK says what went wrong (was InternalError before tls-errors.ts).
        expect((err as Error).message).toMatch(/^TLS handshake failed: the server's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE.*pass the CA that signed it as `ca`$/);
      } finally {
        flux.close();
      }
    });
  }

  it("refuses TLS options with a cleartext url, and half a client identity", () => {
    expect(() => Flux.init(ADMIN_KEY, { url: "http://127.0.0.1:1", ca })).toThrow(/need an https:\/\/ url/);
    expect(() => Flux.init(ADMIN_KEY, { url: "https://127.0.0.1:1", clientCert: "pem" })).toThrow(/go together/);
  });
});

describe("a Flux requiring client certificates (mTLS)", () => {
  let t: TestServer;
  beforeAll(async () => {
    const tls = loadServerTls({ certFile: serverCert.cert, keyFile: serverCert.key, clientCaFile: pki.caCert });
    t = await startTestServer("embedded", "sdk-ts-mtls", { tls });
  });
  afterAll(() => t?.stop());

  for (const protocol of PROTOCOLS) {
    it(`answers ${protocol} calls from a client with clientCert and clientKey, and refuses one without`, async () => {
      const url = httpsUrl(t, protocol);
      const withCert = Flux.init(ADMIN_KEY, { url, transport: protocol, ca, clientCert: readFileSync(clientCert.cert), clientKey: readFileSync(clientCert.key) });
      const without = Flux.init(ADMIN_KEY, { url, transport: protocol, ca });
      try {
        await withCert.ping();
        const refused = await rejection(without.ping());
        expect(refused).toBeInstanceOf(UnavailableError);
        expect((refused as Error).message).toBe("TLS handshake failed: the server requires a client certificate; pass clientCert and clientKey");
      } finally {
        withCert.close();
        without.close();
      }
    });
  }
});
