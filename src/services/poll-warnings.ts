// One warning line per message per interval for background loops that poll every 100 ms: during a store outage
// they fail at every poll, and the log should say so once in a while, with how many it stands for.
import type { Logger } from "pino";

export function pollWarnings(log: Logger, intervalMs = 10_000): (err: unknown, message: string) => void {
  const last = new Map<string, { atMs: number; suppressed: number }>();
  return (err, message) => {
    const now = performance.now();
    const s = last.get(message);
    if (s && now - s.atMs < intervalMs) {
      s.suppressed++;
      return;
    }
    last.set(message, { atMs: now, suppressed: 0 });
    log.warn({ cause: (err as Error)?.message, ...(s?.suppressed ? { suppressed: s.suppressed } : {}) }, message);
  };
}
