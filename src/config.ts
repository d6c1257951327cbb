// Every setting, from one schema; a bad environment is reported whole, in one message.
import { z } from "zod";

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):\d{1,5}$/, "must be HOST:PORT, e.g. 127.0.0.1:50051")
  .refine((s) => Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535, "port must be 0–65535");

const schema = z.object({
  FLUX_GRPC_ADDR: hostPort.default("127.0.0.1:50051"),
  FLUX_HTTP_ADDR: hostPort.default("127.0.0.1:8080"),
  FLUX_MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, "must start with mongodb:// or mongodb+srv://").optional(),
  FLUX_MONGODB_DB: z.string().regex(/^[A-Za-z0-9_\-]{1,63}$/).default("flux_apikeys"),
  FLUX_DATA_DIR: z.string().min(1).default("./data"),
  FLUX_ADMIN_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  FLUX_KEY_PEPPER: z.string().min(16, "must be at least 16 characters").optional(),
  FLUX_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  FLUX_KEY_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  /** Every cached key and admin key is read again after this long: the bound on a lost invalidation. */
  FLUX_KEY_CACHE_MAX_AGE_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Failed admin-key attempts per client address per minute before that address is throttled; 0 turns it off. */
  FLUX_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(20),
  /** Processes serving the ports (node:cluster). 1: one process. N ≥ 2 on the embedded store: N workers share the data
   * directory under the replica rules (see README, Performance). */
  FLUX_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  FLUX_USAGE_FLUSH_MS: z.coerce.number().int().min(50).max(1000).default(1000),
  FLUX_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /** Audit events older than this many days are pruned (hourly). */
  FLUX_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
  /** PEM files: set both and every address serves TLS only; re-read on SIGHUP. */
  FLUX_TLS_CERT_FILE: z.string().min(1).optional(),
  FLUX_TLS_KEY_FILE: z.string().min(1).optional(),
  /** PEM CA bundle: set, clients must present a certificate it signed (mTLS), on both addresses. */
  FLUX_TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
  /** Leak reports (POST /v1/leaks/report): a JSON file of reporters' public keys, shaped like GitHub's
   * secret-scanning public-keys response. Unset: the endpoint answers 404 and changes nothing. */
  FLUX_LEAK_REPORTER_KEYS: z.string().min(1).optional(),
  /** What a leak report does to a live key: revoke it, disable it, or only record the report. */
  FLUX_LEAK_ACTION: z.enum(["revoke", "disable", "report"]).default("revoke"),
  /** Leak reports accepted per reporter address per minute; 0 turns the limit off. */
  FLUX_LEAK_REPORTS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(60),
  /** Webhook targets on loopback, private, link-local or metadata addresses are refused unless this is true. */
  FLUX_WEBHOOK_ALLOW_PRIVATE: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
  /** Waits between a webhook's failed attempts, comma-separated ms; after the last one it is given up (default ≈ 23.7 h). */
  FLUX_WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\d{1,10}(,\d{1,10}){0,29}$/, "must be 1–30 comma-separated whole numbers of ms")
    .default("5000,30000,120000,600000,1800000,3600000,7200000,14400000,28800000,28800000")
    .transform((s) => s.split(",").map(Number)),
  /** How long a webhook attempt waits for the answer. */
  FLUX_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** How often the webhook feed and queue are polled: the usual delivery latency. */
  FLUX_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(10_000).default(100),
  /** key.expiring is sent this many days before a key expires (once per key and expiry). */
  FLUX_WEBHOOK_EXPIRING_DAYS: z.coerce.number().int().min(1).max(30).default(7),
  /** Local validators: the server's heartbeat on an idle stream, and the longest a validator waits between acknowledgements. */
  FLUX_VALIDATOR_HEARTBEAT_MS: z.coerce.number().int().min(20).max(1000).default(250),
  /** A validator answers locally for at most this long after the start of its last successful acknowledgement.
   * At most 1,500: a MongoDB replica stops vouching for its feed 2 s after its last poll started (replica-sync.ts). */
  FLUX_VALIDATOR_STALE_AFTER_MS: z.coerce.number().int().min(100).max(1500).default(1500),
  /** A session that has not acknowledged a change this long after its stream took it is cut off. */
  FLUX_VALIDATOR_ACK_TIMEOUT_MS: z.coerce.number().int().min(50).max(2000).default(1000),
  /** Validator sessions one server process holds; past it SubscribeKeys ends at once (VALIDATOR_SESSION_ENDED). */
  FLUX_VALIDATOR_MAX_SESSIONS: z.coerce.number().int().min(0).max(100_000).default(1000),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith("FLUX_") && v !== ""));
  const parsed = schema.safeParse(cleaned);
  // Checks across settings, made on the raw values so they are reported together with every per-field issue.
  const crossIssues = [...tlsPairingIssues(cleaned), ...validatorIssues(parsed.success ? parsed.data : undefined)];
  if (parsed.success && crossIssues.length === 0) return parsed.data;
  const issues = [...(parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }))), ...crossIssues];
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

function tlsPairingIssues(env: Record<string, string | undefined>): { path: string; message: string }[] {
  const cert = env.FLUX_TLS_CERT_FILE !== undefined;
  const key = env.FLUX_TLS_KEY_FILE !== undefined;
  const issues = [];
  if (cert && !key) issues.push({ path: "FLUX_TLS_KEY_FILE", message: "must be set when FLUX_TLS_CERT_FILE is (TLS needs both)" });
  if (key && !cert) issues.push({ path: "FLUX_TLS_CERT_FILE", message: "must be set when FLUX_TLS_KEY_FILE is (TLS needs both)" });
  if (env.FLUX_TLS_CLIENT_CA_FILE !== undefined && !cert && !key) {
    issues.push({ path: "FLUX_TLS_CLIENT_CA_FILE", message: "needs FLUX_TLS_CERT_FILE and FLUX_TLS_KEY_FILE (mTLS runs over TLS)" });
  }
  return issues;
}

function validatorIssues(c: Config | undefined): { path: string; message: string }[] {
  // A validator acknowledges every heartbeat interval and must stay fresh between two acknowledgements.
  if (c && c.FLUX_VALIDATOR_STALE_AFTER_MS < 2 * c.FLUX_VALIDATOR_HEARTBEAT_MS) {
    return [{ path: "FLUX_VALIDATOR_STALE_AFTER_MS", message: "must be at least twice FLUX_VALIDATOR_HEARTBEAT_MS" }];
  }
  return [];
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(addr.slice(i + 1)) };
}
