// GetOrganizationUsage: the usage of all an organisation's keys rolled up (totals, outcomes, an hourly or daily
// series) and its top keys by traffic and by error rate, from the usage rows that carry the key's org.
import type { Clock } from "../domain/clock.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import { OUTCOMES, type Outcome, type Principal } from "../domain/types.js";
import type { KeyStore, UsageStore } from "../store/types.js";
import { requireManage, requireOrg } from "./access.js";
import { checkOrgId } from "./key-input.js";
import type { UsageRecorder } from "./usage-recorder.js";
import { buckets, type Granularity, seriesStart, type UsageBucket } from "./usage-service.js";

const HOUR_MS = 3_600_000;
export const DEFAULT_TOP_KEYS = 10;
/** A key needs this many validations in the span to rank by error rate: one failure of two calls is not a signal. */
export const ERROR_RATE_MIN_REQUESTS = 10;

export interface KeySummary {
  keyId: string;
  name: string;
  requests: number;
  errors: number;
  errorRate: number;
}

export interface OrganizationUsage {
  orgId: string;
  requests: number;
  errors: number;
  errorRate: number;
  outcomes: { outcome: Outcome; count: number }[];
  series: UsageBucket[];
  topByRequests: KeySummary[];
  topByErrorRate: KeySummary[];
}

export class OrganizationUsageService {
  constructor(
    private readonly keys: KeyStore,
    private readonly usage: UsageStore,
    private readonly recorder: UsageRecorder,
    private readonly clock: Clock,
  ) {}

  async get(p: Principal, orgId: string, granularity: Granularity, seriesStartMs: number | undefined, topKeys: number): Promise<OrganizationUsage> {
    requireManage(p);
    checkOrgId(orgId);
    requireOrg(p, orgId);
    if (!Number.isInteger(topKeys) || topKeys < 0 || topKeys > LIMITS.topKeysMax) {
      throw invalidArgument(`top_keys must be 1–${LIMITS.topKeysMax} (0 means ${DEFAULT_TOP_KEYS})`, "top_keys");
    }
    const now = this.clock.nowMs();
    const { from, step } = seriesStart(granularity, seriesStartMs, now);
    // This process's own validations are flushed first, so a read right after them is exact.
    await this.recorder.flush();
    const rows = await this.usage.orgHours(orgId, from, now + HOUR_MS);
    const totals = new Map<Outcome, number>();
    const perKey = new Map<string, { requests: number; errors: number }>();
    for (const r of rows) {
      let k = perKey.get(r.keyId);
      if (!k) perKey.set(r.keyId, (k = { requests: 0, errors: 0 }));
      for (const o of OUTCOMES) {
        const n = r.counts[o] ?? 0;
        if (!n) continue;
        totals.set(o, (totals.get(o) ?? 0) + n);
        k.requests += n;
        if (o !== "VALID") k.errors += n;
      }
    }
    const requests = [...totals.values()].reduce((a, b) => a + b, 0);
    const errors = requests - (totals.get("VALID") ?? 0);
    const summaries = [...perKey].map(([keyId, k]) => ({ keyId, requests: k.requests, errors: k.errors, errorRate: k.requests ? k.errors / k.requests : 0 }));
    const limit = topKeys || DEFAULT_TOP_KEYS;
    const byRequests = [...summaries].sort((a, b) => b.requests - a.requests || cmp(a.keyId, b.keyId)).slice(0, limit);
    const byErrorRate = summaries
      .filter((s) => s.requests >= ERROR_RATE_MIN_REQUESTS && s.errors > 0)
      .sort((a, b) => b.errorRate - a.errorRate || b.errors - a.errors || cmp(a.keyId, b.keyId))
      .slice(0, limit);
    const names = await this.names([...new Set([...byRequests, ...byErrorRate].map((s) => s.keyId))]);
    const named = (s: Omit<KeySummary, "name">): KeySummary => ({ ...s, name: names.get(s.keyId) ?? "" });
    return {
      orgId,
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      outcomes: OUTCOMES.filter((o) => (totals.get(o) ?? 0) > 0).map((o) => ({ outcome: o, count: totals.get(o)! })),
      series: buckets(rows, from, now, step),
      topByRequests: byRequests.map(named),
      topByErrorRate: byErrorRate.map(named),
    };
  }

  /** At most 2 × top_keys key reads, by id. */
  private async names(ids: string[]): Promise<Map<string, string>> {
    const keys = await Promise.all(ids.map((id) => this.keys.get(id)));
    return new Map(keys.flatMap((k) => (k ? [[k.id, k.name] as const] : [])));
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
