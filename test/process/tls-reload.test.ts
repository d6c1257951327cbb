// A real `flux-apikeys serve` over TLS: SIGHUP re-reads the certificate files (new handshakes see the new
// serial) while calls in flight over connections opened before it carry on; bad TLS files stop the start.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without types
import { startFluxProcess } from "../../scripts/with-server.mjs";
import { createTestPki, grpcPing, grpcTlsClient, handshake, type IssuedCert, type TestPki } from "../support/tls-certs.js";

let pki: TestPki;
let live: IssuedCert;
const dataDir = mkdtempSync(join(tmpdir(), "flux-tls-"));
beforeAll(() => {
  pki = createTestPki();
  live = pki.issueServer("live", "51");
});
afterAll(() => {
  pki?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A Connect Ping over an already open HTTP/2 session. */
function connectPing(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": "/flux.apikeys.v1.PingService/Ping", "content-type": "application/json" });
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("response", (h) => h[":status"] !== 200 && reject(new Error(`status ${h[":status"]}`)));
    req.on("end", () => resolve(void body));
    req.on("error", reject);
    req.end("{}");
  });
}

/** Keeps `width` calls in flight until stop(); resolves to the count and the failures. */
function keepCalling(width: number, call: () => Promise<void>) {
  let running = true;
  let done = 0;
  const failures: string[] = [];
  const lanes = Array.from({ length: width }, async () => {
    while (running) {
      await call().then(
        () => void done++,
        (e: Error) => void failures.push(e.message),
      );
    }
  });
  return {
    calls: () => done,
    stop: async () => {
      running = false;
      await Promise.all(lanes);
      return { done, failures };
    },
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("flux-apikeys serve with FLUX_TLS_CERT_FILE and FLUX_TLS_KEY_FILE", () => {
  it("re-reads the certificate on SIGHUP without failing calls in flight on open connections", async () => {
    const p = await startFluxProcess({ FLUX_DATA_DIR: dataDir, FLUX_ADMIN_KEY: "tls-process-admin-key-0123", FLUX_LOG_LEVEL: "info", FLUX_TLS_CERT_FILE: live.cert, FLUX_TLS_KEY_FILE: live.key });
    const grpc = grpcTlsClient(p.grpcPort, pki.caCert);
    const session = http2.connect(`https://localhost:${p.httpPort}`, { ca: readFileSync(pki.caCert), host: "127.0.0.1" } as never);
    try {
      expect(p.output()).toContain(`https://127.0.0.1:${p.httpPort}/`);
      expect(p.output()).toContain("certificate serial 51");
      await grpcPing(grpc);
      await connectPing(session);
      const grpcLoad = keepCalling(4, () => grpcPing(grpc));
      const connectLoad = keepCalling(4, () => connectPing(session));
      await until("calls under way", async () => grpcLoad.calls() > 20 && connectLoad.calls() > 20);

      // Replace the files the way a certificate manager does (write aside, rename over), then signal.
      const next = pki.issueServer("next", "52");
      copyFileSync(next.key, `${live.key}.tmp`);
      copyFileSync(next.cert, `${live.cert}.tmp`);
      renameSync(`${live.key}.tmp`, live.key);
      renameSync(`${live.cert}.tmp`, live.cert);
      p.child.kill("SIGHUP");
      await until("the new certificate on new handshakes", async () => (await handshake(p.grpcPort, pki.caCert, ["h2"])).serial === "52");
      expect((await handshake(p.httpPort, pki.caCert, ["h2"])).serial).toBe("52");
      expect((await handshake(p.httpPort, pki.caCert, ["http/1.1"])).serial).toBe("52");

      const atReload = [grpcLoad.calls(), connectLoad.calls()];
      await until("more calls after the reload", async () => grpcLoad.calls() > atReload[0]! + 20 && connectLoad.calls() > atReload[1]! + 20);
      const g = await grpcLoad.stop();
      const c = await connectLoad.stop();
      expect(g.failures).toEqual([]);
      expect(c.failures).toEqual([]);
      // Those calls ran on the connection opened before the reload, which still holds the old certificate.
      expect((session.socket as unknown as { getPeerCertificate(): { serialNumber: string } }).getPeerCertificate().serialNumber).toBe("51");
      expect(p.output()).toMatch(/TLS certificate reloaded/);
      expect(p.output()).toMatch(/"serialNumber":"52"/);
      expect(p.output()).not.toMatch(/BEGIN (EC )?PRIVATE KEY/);
    } finally {
      grpc.close();
      session.close();
      expect(await p.stop()).toBe(0);
    }
  });

  it("refuses to start, naming the setting and file, when the key does not fit the certificate", async () => {
    const other = pki.issueServer("other", "77");
    const err = await startFluxProcess({ FLUX_DATA_DIR: dataDir, FLUX_TLS_CERT_FILE: live.cert, FLUX_TLS_KEY_FILE: other.key }, { timeoutMs: 30_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/exited with 2/);
    expect(err?.message).toContain(`FLUX_TLS_KEY_FILE (${other.key}) does not fit FLUX_TLS_CERT_FILE`);
  });
});
