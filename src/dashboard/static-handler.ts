// Serves the built dashboard (dist/dashboard) on the HTTP address: index.html uncached under a strict CSP,
// hashed assets cached for a year. Files are read into memory once and re-read when the build changes.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;
export type DashboardHandler = (req: Req, res: Res) => boolean;

export const DEFAULT_DIST_DIR = fileURLToPath(new URL("../../dist/dashboard/", import.meta.url));

/** No inline scripts or styles, no third-party origins; the page may only talk to its own origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".svg", ".json", ".map", ".txt"]);

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  headers: Record<string, string>;
}

/** Paths the dashboard owns: everything else is left to the caller (RPCs, health, metrics). */
const OWNED = /^\/(?:$|index\.html$|assets\/|favicon\.svg$)/;

export function createDashboardHandler(distDir: string = DEFAULT_DIST_DIR): DashboardHandler {
  const root = resolve(distDir);
  let assets = new Map<string, Asset>();
  let builtAtMs = -1;

  // Re-reads the build when index.html changed, so a rebuild is picked up without a restart.
  const refresh = () => {
    const index = join(root, "index.html");
    const mtime = existsSync(index) ? statSync(index).mtimeMs : 0;
    if (mtime === builtAtMs) return;
    assets = mtime ? loadAssets(root) : new Map();
    builtAtMs = mtime;
  };

  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    let path: string;
    try {
      path = decodeURIComponent(q === -1 ? url : url.slice(0, q));
    } catch {
      return false;
    }
    if (!OWNED.test(path)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, { "content-type": "text/plain; charset=utf-8", allow: "GET, HEAD" }, "method not allowed\n");
      return true;
    }
    refresh();
    const asset = lookup(assets, root, path);
    if (!asset) {
      if (assets.size === 0 && (path === "/" || path === "/index.html")) {
        send(res, 503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, "The dashboard is not built: run `npm run build:dashboard`.\n");
      } else {
        send(res, 404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }, "not found\n");
      }
      return true;
    }
    const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const body = gzip ? asset.gzip! : asset.body;
    const headers = { ...asset.headers, "content-length": String(body.length), ...(gzip ? { "content-encoding": "gzip" } : {}) };
    send(res, 200, headers, req.method === "HEAD" ? undefined : body);
    return true;
  };
}

function lookup(assets: Map<string, Asset>, root: string, path: string): Asset | undefined {
  const rel = path === "/" ? "index.html" : path.slice(1);
  // The map only holds files found under root, so "..", encoded slashes or NUL bytes can never reach the disk.
  if (rel.includes("\0") || rel.includes("\\") || rel.split("/").some((s) => s === ".." || s === ".")) return undefined;
  const full = resolve(root, rel);
  if (!full.startsWith(root + sep)) return undefined;
  return assets.get(relative(root, full).split(sep).join("/"));
}

function loadAssets(root: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const rel = relative(root, full).split(sep).join("/");
        out.set(rel, makeAsset(rel, readFileSync(full)));
      }
    }
  };
  walk(root);
  return out;
}

function makeAsset(rel: string, body: Buffer): Asset {
  const ext = extname(rel).toLowerCase();
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
  };
  if (rel === "index.html") {
    headers["cache-control"] = "no-store";
    headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
  } else if (rel.startsWith("assets/")) {
    // Vite puts a content hash in every file name under assets/, so a name never changes meaning.
    headers["cache-control"] = "public, max-age=31536000, immutable";
  } else {
    headers["cache-control"] = "public, max-age=3600";
  }
  const compressible = COMPRESSIBLE.has(ext) && body.length > 512;
  if (compressible) headers["vary"] = "accept-encoding";
  return { body, gzip: compressible ? gzipSync(body, { level: 9 }) : undefined, headers };
}

function send(res: Res, status: number, headers: Record<string, string>, body?: string | Buffer) {
  const r = res as http.ServerResponse;
  r.writeHead(status, { ...SECURITY_HEADERS, ...headers });
  r.end(body);
}
