// Structured JSON logs. Redaction is a second line of defence: callers already never log secrets or documents.
import { pino, type Logger } from "pino";

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "flux-apikeys" },
    redact: { paths: ["secret", "key", "authorization", "*.secret", "*.authorization", "*.digest"], censor: "[redacted]" },
  });
}
