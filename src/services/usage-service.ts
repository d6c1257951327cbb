// GetApiKeyUsage: the calendar month in UTC as the period, per-outcome counts and an hourly or daily series.
import type { Clock } from "../domain/clock.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import { OUTCOMES, type Outcome, type Principal } from "../domain/types.js";
import type { KeyStore, UsageRow, UsageStore } from "../store/types.js";
import { requireManage, visibleOrNotFound } from "./access.js";
import type { UsageRecorder } from "./usage-recorder.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_BUCKETS = LIMITS.usageSeriesBuckets;

export type Granularity = "HOUR" | "DAY";

export interface UsageBucket {
  startMs: number;
  requests: number;
  valid: number;
  rateLimited: number;
  /** USAGE_EXCEEDED (also counted in requests; not in otherErrors). */
  usageExceeded: number;
  otherErrors: number;
}

export interface KeyUsage {
  id: string;
  periodStartMs: number;
  requests: number;
  errors: number;
  errorRate: number;
  lastUsedAtMs?: number;
  outcomes: { outcome: Outcome; count: number }[];
  series: UsageBucket[];
  /** The key's scopes no validation required in the last unusedScopeDays days. */
  unusedScopes: string[];
  /** Each of the key's scopes with the last time a validation required it (absent: never recorded). */
  scopeUses: { scope: string; lastRequiredAtMs?: number }[];
}

export const DEFAULT_UNUSED_SCOPE_DAYS = 30;

export class UsageService {
  constructor(
    private readonly keys: KeyStore,
    private readonly usage: UsageStore,
    private readonly recorder: UsageRecorder,
    private readonly clock: Clock,
  ) {}

  async get(p: Principal, id: string, granularity: Granularity, seriesStartMs?: number, unusedScopeDays = 0): Promise<KeyUsage> {
    requireManage(p);
    if (!Number.isInteger(unusedScopeDays) || unusedScopeDays < 0 || unusedScopeDays > LIMITS.unusedScopeDaysMax) {
      throw invalidArgument(`unused_scope_days must be 1–${LIMITS.unusedScopeDaysMax} (0 means ${DEFAULT_UNUSED_SCOPE_DAYS})`, "unused_scope_days");
    }
    const key = visibleOrNotFound(p, id, await this.keys.get(id));
    // This process's own validations are flushed first, so a read right after them is exact.
    await this.recorder.flush();
    const now = this.clock.nowMs();
    const step = granularity === "HOUR" ? HOUR_MS : DAY_MS;
    const periodStartMs = monthStartUtc(now);
    const defaultStart = now - (granularity === "HOUR" ? DAY_MS : 30 * DAY_MS);
    const seriesFrom = floorTo(seriesStartMs ?? defaultStart, step);
    if (seriesFrom > now) throw invalidArgument("series_start must not lie in the future", "series_start");
    if ((now - seriesFrom) / step > MAX_BUCKETS) {
      throw invalidArgument(`series_start is too far back: at most ${MAX_BUCKETS} buckets`, "series_start");
    }
    const [rows, lastUsedAtMs, uses] = await Promise.all([
      this.usage.hours(id, Math.min(periodStartMs, seriesFrom), now + HOUR_MS),
      this.usage.lastUsedAt(id),
      this.usage.scopeUses(id),
    ]);
    const usedSinceMs = now - (unusedScopeDays || DEFAULT_UNUSED_SCOPE_DAYS) * DAY_MS;
    const totals = new Map<Outcome, number>();
    for (const r of rows) {
      if (r.hourStartMs < periodStartMs) continue;
      for (const o of OUTCOMES) totals.set(o, (totals.get(o) ?? 0) + (r.counts[o] ?? 0));
    }
    const requests = [...totals.values()].reduce((a, b) => a + b, 0);
    const errors = requests - (totals.get("VALID") ?? 0);
    return {
      id,
      periodStartMs,
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      lastUsedAtMs,
      outcomes: OUTCOMES.filter((o) => (totals.get(o) ?? 0) > 0).map((o) => ({ outcome: o, count: totals.get(o)! })),
      series: buckets(rows, seriesFrom, now, step),
      unusedScopes: key.scopes.filter((s) => !((uses.get(s) ?? -Infinity) >= usedSinceMs)),
      scopeUses: key.scopes.map((s) => ({ scope: s, lastRequiredAtMs: uses.get(s) })),
    };
  }
}

export function buckets(rows: UsageRow[], fromMs: number, nowMs: number, step: number): UsageBucket[] {
  const out: UsageBucket[] = [];
  for (let t = fromMs; t <= nowMs; t += step) out.push({ startMs: t, requests: 0, valid: 0, rateLimited: 0, usageExceeded: 0, otherErrors: 0 });
  for (const r of rows) {
    const b = out[Math.floor((r.hourStartMs - fromMs) / step)];
    if (!b || r.hourStartMs < fromMs) continue;
    for (const o of OUTCOMES) {
      const n = r.counts[o] ?? 0;
      b.requests += n;
      if (o === "VALID") b.valid += n;
      else if (o === "RATE_LIMITED") b.rateLimited += n;
      else if (o === "USAGE_EXCEEDED") b.usageExceeded += n;
      else b.otherErrors += n;
    }
  }
  return out;
}

/** The series' first bucket start: series_start (default: a day of hours or 30 days back) checked against the bounds. */
export function seriesStart(granularity: Granularity, seriesStartMs: number | undefined, now: number): { from: number; step: number } {
  const step = granularity === "HOUR" ? HOUR_MS : DAY_MS;
  const defaultStart = now - (granularity === "HOUR" ? DAY_MS : 30 * DAY_MS);
  const from = floorTo(seriesStartMs ?? defaultStart, step);
  if (from > now) throw invalidArgument("series_start must not lie in the future", "series_start");
  if ((now - from) / step > MAX_BUCKETS) throw invalidArgument(`series_start is too far back: at most ${MAX_BUCKETS} buckets`, "series_start");
  return { from, step };
}

export function monthStartUtc(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

const floorTo = (ms: number, step: number) => ms - (((ms % step) + step) % step);
