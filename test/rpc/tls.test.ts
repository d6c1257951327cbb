// TLS on both addresses (FLUX_TLS_CERT_FILE / FLUX_TLS_KEY_FILE, optional FLUX_TLS_CLIENT_CA_FILE): every protocol
// the server speaks works over it, ALPN offers what each address serves, mTLS refuses strangers, and a reload
// swaps the certificate for new handshakes without touching open connections.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { loadServerTls, TlsLoadError, type ServerTls } from "../../src/transport/tls.js";
import { PingService } from "../../gen/ts/flux/apikeys/v1/ping_service_pb.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { createTestPki, grpcPing, grpcTlsClient, handshake, type IssuedCert, type TestPki } from "../support/tls-certs.js";

let pki: TestPki;
let stranger: TestPki;
let serverCert: IssuedCert;
let clientCert: IssuedCert;

beforeAll(() => {
  pki = createTestPki();
  stranger = createTestPki({ name: "Some Other CA" });
  serverCert = pki.issueServer("server", "A1");
  clientCert = pki.issueClient("client", "C1");
});
afterAll(() => {
  pki?.remove();
  stranger?.remove();
});

function get(port: number, path: string, opts: https.RequestOptions = {}): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path, servername: "localhost", ca: readFileSync(pki.caCert), agent: false, ...opts }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body, type: String(res.headers["content-type"]) }));
    });
    req.on("error", reject);
  });
}

describe("a server with FLUX_TLS_CERT_FILE and FLUX_TLS_KEY_FILE", () => {
  let t: TestServer;
  let serverTls: ServerTls;
  beforeAll(async () => {
    serverTls = loadServerTls({ certFile: serverCert.cert, keyFile: serverCert.key });
    t = await startTestServer("embedded", "tls", { tls: serverTls });
  });
  afterAll(() => t?.stop());

  it("serves gRPC over TLS to a grpc-js client that trusts the CA, and ALPN picks h2", async () => {
    const client = grpcTlsClient(t.server.grpcPort, pki.caCert);
    try {
      await grpcPing(client);
    } finally {
      client.close();
    }
    expect(await handshake(t.server.grpcPort, pki.caCert, ["h2", "http/1.1"])).toEqual({ serial: "A1", alpn: "h2" });
  });

  it("offers h2 and http/1.1 by ALPN on the HTTP address", async () => {
    expect((await handshake(t.server.httpPort, pki.caCert, ["h2", "http/1.1"])).alpn).toBe("h2");
    expect((await handshake(t.server.httpPort, pki.caCert, ["http/1.1"])).alpn).toBe("http/1.1");
  });

  it("serves Connect over HTTP/1.1 and h2, and gRPC-Web, over HTTPS", async () => {
    const baseUrl = `https://localhost:${t.server.httpPort}`;
    const ca = readFileSync(pki.caCert);
    const transports = [
      createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { ca } }),
      createConnectTransport({ baseUrl, httpVersion: "2", nodeOptions: { ca } }),
      createGrpcWebTransport({ baseUrl, httpVersion: "2", nodeOptions: { ca } }),
      createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { ca } }),
    ];
    for (const transport of transports) {
      await expect(createClient(PingService, transport).ping({}, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).resolves.toBeDefined();
    }
  });

  it("serves the dashboard, /healthz and /metrics over HTTPS", async () => {
    const page = await get(t.server.httpPort, "/");
    expect(page.status).toBe(200);
    expect(page.type).toContain("text/html");
    expect((await get(t.server.httpPort, "/healthz")).body).toBe("ok\n");
    const metrics = await get(t.server.httpPort, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain("flux_");
  });

  it("refuses cleartext: no answer to plain HTTP on either address", async () => {
    const plain = await fetch(`http://127.0.0.1:${t.server.httpPort}/healthz`).then((r) => r.status, (e: Error) => e.message);
    expect(plain).not.toBe(200);
  });

  it("fails a client that trusts another CA with a certificate error, on both addresses", async () => {
    const client = grpcTlsClient(t.server.grpcPort, stranger.caCert);
    try {
      const err = await grpcPing(client).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/UNAVAILABLE/);
      expect(err?.message).toMatch(/certificate/i);
    } finally {
      client.close();
    }
    await expect(get(t.server.httpPort, "/healthz", { ca: readFileSync(stranger.caCert) })).rejects.toThrow(/certificate/i);
  });

  it("presents a reloaded certificate to new handshakes while an open connection keeps calling", async () => {
    const client = grpcTlsClient(t.server.grpcPort, pki.caCert);
    const transport = createConnectTransport({ baseUrl: `https://localhost:${t.server.httpPort}`, httpVersion: "2", nodeOptions: { ca: readFileSync(pki.caCert) } });
    const connect = createClient(PingService, transport);
    try {
      await grpcPing(client);
      await connect.ping({});
      const next = pki.issueServer("server-next", "B2");
      copyFileSync(next.cert, serverCert.cert);
      copyFileSync(next.key, serverCert.key);
      expect(serverTls.reload().serialNumber).toBe("B2");
      expect((await handshake(t.server.grpcPort, pki.caCert, ["h2"])).serial).toBe("B2");
      expect((await handshake(t.server.httpPort, pki.caCert, ["h2"])).serial).toBe("B2");
      // The connections opened before the reload still carry calls.
      await grpcPing(client);
      await connect.ping({});
    } finally {
      client.close();
    }
  });

  it("keeps serving the old certificate when a reload finds a key that does not fit", async () => {
    const before = serverTls.certificate().serialNumber;
    const saved = readFileSync(serverCert.key);
    writeFileSync(serverCert.key, readFileSync(clientCert.key));
    try {
      expect(() => serverTls.reload()).toThrow(TlsLoadError);
    } finally {
      writeFileSync(serverCert.key, saved);
    }
    expect(serverTls.certificate().serialNumber).toBe(before);
    expect((await handshake(t.server.grpcPort, pki.caCert, ["h2"])).serial).toBe(before);
  });
});

describe("a server with FLUX_TLS_CLIENT_CA_FILE (mTLS)", () => {
  let t: TestServer;
  beforeAll(async () => {
    const serverTls = loadServerTls({ certFile: serverCert.cert, keyFile: serverCert.key, clientCaFile: pki.caCert });
    t = await startTestServer("embedded", "mtls", { tls: serverTls });
  });
  afterAll(() => t?.stop());

  it("answers a client that presents a certificate from the client CA, on both addresses", async () => {
    const client = grpcTlsClient(t.server.grpcPort, pki.caCert, clientCert);
    try {
      await grpcPing(client);
    } finally {
      client.close();
    }
    const res = await get(t.server.httpPort, "/healthz", { cert: readFileSync(clientCert.cert), key: readFileSync(clientCert.key) });
    expect(res.status).toBe(200);
  });

  it("refuses a client without a certificate, on both addresses", async () => {
    const client = grpcTlsClient(t.server.grpcPort, pki.caCert);
    try {
      await expect(grpcPing(client)).rejects.toMatchObject({ code: 14 /* UNAVAILABLE */ });
    } finally {
      client.close();
    }
    await expect(get(t.server.httpPort, "/healthz")).rejects.toThrow();
  });

  it("refuses a client certificate signed by another CA", async () => {
    const foreign = stranger.issueClient("foreign-client");
    const client = grpcTlsClient(t.server.grpcPort, pki.caCert, foreign);
    try {
      await expect(grpcPing(client)).rejects.toMatchObject({ code: 14 });
    } finally {
      client.close();
    }
  });
});

describe("TLS settings", () => {
  it("reports a certificate without a key together with every other bad setting", () => {
    const err = (() => {
      try {
        loadConfig({ FLUX_TLS_CERT_FILE: "/x/cert.pem", FLUX_GRPC_ADDR: "nonsense", FLUX_KEY_CACHE_SIZE: "many" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toMatch(/FLUX_TLS_KEY_FILE: must be set when FLUX_TLS_CERT_FILE is/);
    expect(err!.message).toMatch(/FLUX_GRPC_ADDR/);
    expect(err!.message).toMatch(/FLUX_KEY_CACHE_SIZE/);
  });

  it("reports a client CA without a certificate, and accepts the full set", () => {
    expect(() => loadConfig({ FLUX_TLS_CLIENT_CA_FILE: "/x/ca.pem" })).toThrow(/FLUX_TLS_CLIENT_CA_FILE: needs FLUX_TLS_CERT_FILE/);
    expect(loadConfig({ FLUX_TLS_CERT_FILE: "c", FLUX_TLS_KEY_FILE: "k", FLUX_TLS_CLIENT_CA_FILE: "a" })).toMatchObject({ FLUX_TLS_CERT_FILE: "c" });
  });

  it("names the setting and the file when a certificate cannot be read", () => {
    expect(() => loadServerTls({ certFile: "/nonexistent/cert.pem", keyFile: serverCert.key })).toThrow(/FLUX_TLS_CERT_FILE \(\/nonexistent\/cert\.pem\): ENOENT/);
  });
});
