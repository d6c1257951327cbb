// The HTTP address over TLS: one listener whose ALPN offers h2 and http/1.1, serving the same handler as the
// cleartext listener (Connect, gRPC-Web, dashboard, health, metrics). Certificates follow ServerTls reloads.
import * as http2 from "node:http2";
import type * as net from "node:net";
import type * as tls from "node:tls";
import type { HttpHandler, HttpServer } from "./connect-server.js";
import type { ServerTls } from "./tls.js";

export async function startHttpsServer(handler: HttpHandler, addr: { host: string; port: number }, t: ServerTls): Promise<HttpServer> {
  const server = http2.createSecureServer(
    {
      ...t.contextOptions(),
      allowHTTP1: true, // ALPN: h2, then http/1.1; a client offering neither is refused by the handshake
      requestCert: t.requireClientCert,
      rejectUnauthorized: t.requireClientCert,
    },
    handler as never,
  );
  const unsubscribe = t.onReload((options) => server.setSecureContext(options));

  // For draining: HTTP/2 sessions close with GOAWAY; HTTP/1.1 sockets close once they carry no request.
  const sockets = new Set<tls.TLSSocket>();
  const sessions = new Set<http2.Http2Session>();
  const inFlight = new Map<net.Socket, number>();
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {}); // a reset or failed handshake ends this socket only
  });
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("request", (req, res) => {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as net.Socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once("close", () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1));
  });
  let closing = false;
  const closeIdleHttp1 = () => {
    for (const s of sockets) {
      if (s.alpnProtocol !== "h2" && (inFlight.get(s) ?? 0) === 0) s.destroy();
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(addr.port, addr.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        if (closing) return resolve();
        closing = true;
        unsubscribe();
        server.close();
        for (const s of sessions) s.close();
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
          resolve();
        }, graceMs);
        const poll = setInterval(() => {
          closeIdleHttp1();
          if (sockets.size === 0) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        }, 20);
        timer.unref();
      }),
  };
}
