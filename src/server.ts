// Starts both transports over one set of services and stops them in order: stop accepting, drain, flush, close.
import type { Logger } from "pino";
import type * as http from "node:http";
import { type Config, splitHostPort } from "./config.js";
import type { Deps } from "./deps.js";
import { createConnectHandler, type HttpHandler, type HttpServer, startHttpServer } from "./transport/connect-server.js";
import { startGrpcServer, stopGrpcServer, type GrpcServer } from "./transport/grpc-server.js";
import { createServedServices } from "./transport/handlers.js";
import { createDashboardHandler } from "./dashboard/static-handler.js";
import { startHttpsServer } from "./transport/https-server.js";
import { createLeakReportRoute } from "./transport/leak-report-route.js";
import { grpcServerCredentials, type ServerTls } from "./transport/tls.js";

export interface RunningServer {
  grpcPort: number;
  httpPort: number;
  stop(): Promise<void>;
}

export async function startServer(
  config: Pick<Config, "FLUX_GRPC_ADDR" | "FLUX_HTTP_ADDR" | "FLUX_SHUTDOWN_GRACE_MS">,
  deps: Deps,
  log: Logger,
  /** Set: both addresses serve TLS only, with certificates that follow its reloads. */
  tls?: ServerTls,
): Promise<RunningServer> {
  const served = createServedServices(deps);
  let grpc: GrpcServer | undefined;
  let httpServer: HttpServer | undefined;
  try {
    grpc = await startGrpcServer(served, config.FLUX_GRPC_ADDR, log, deps.metrics, tls && grpcServerCredentials(tls));
    const handler = createConnectHandler(served, log, fallback(deps, log), deps.metrics);
    const addr = splitHostPort(config.FLUX_HTTP_ADDR);
    httpServer = tls ? await startHttpsServer(handler, addr, tls) : await startHttpServer(handler, addr);
  } catch (err) {
    if (grpc) grpc.server.forceShutdown();
    throw err;
  }
  const g = grpc;
  const h = httpServer;
  let stopping: Promise<void> | undefined;
  return {
    grpcPort: g.port,
    httpPort: h.port,
    stop: () =>
      (stopping ??= (async () => {
        deps.services.validators.stop(); // open streams end now rather than hold the drain for its whole grace
        await Promise.all([stopGrpcServer(g, config.FLUX_SHUTDOWN_GRACE_MS), h.close(config.FLUX_SHUTDOWN_GRACE_MS)]);
        await deps.close();
      })()),
  };
}

/** Everything on the HTTP address that is not an RPC: health, metrics, leak reports and the dashboard. */
function fallback(deps: Deps, log: Logger): HttpHandler {
  const dashboard = createDashboardHandler();
  const leaks = deps.services.leaks;
  const leakReports = createLeakReportRoute({ ...leaks, log, onReport: (result) => deps.metrics.leakReports.inc({ result }) });
  return (req, res) => {
    const r = res as http.ServerResponse;
    if (req.url === "/healthz") {
      r.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
      r.end("ok\n");
      return;
    }
    if (req.url === "/metrics") {
      deps.metrics.text().then((body) => {
        r.writeHead(200, { "content-type": deps.metrics.registry.contentType, "cache-control": "no-store" });
        r.end(body);
      });
      return;
    }
    if (leakReports(req, res)) return;
    if (dashboard(req, res)) return;
    r.writeHead(404, { "content-type": "text/plain" });
    r.end("not found\n");
  };
}
