// Local answers counted per key between usage reports, and the reports themselves: report_seq 1, 2, 3 … per
// session; a report that failed is sent again, unchanged and with the same seq, until the server acknowledges it.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type LocalKeyUsage,
  LocalKeyUsageSchema,
  type ReportLocalUsageRequest,
  ReportLocalUsageRequestSchema,
} from "./gen/flux/apikeys/v1/local_validation_pb.js";
import { Outcome as WireOutcome } from "./gen/flux/apikeys/v1/validation_pb.js";
import type { Returned } from "./local-leases.js";
import type { Outcome } from "./types.js";

const REPORT_KEYS_MAX = 10_000;
const SCOPE_USES_MAX = 100;

interface KeyCounts {
  /** VALID answers, kept apart from the other outcomes: the common case costs one increment. */
  valid: number;
  outcomes: Map<Outcome, number>;
  scopeUses: Map<string, number>;
  lastUsedAtMs: number;
}

export class UsageCounter {
  #keys = new Map<string, KeyCounts>();
  #malformed = 0;
  /** The report sent and not yet acknowledged: resent as is. */
  #inFlight: ReportLocalUsageRequest | undefined;
  #seq = 0n;

  /** A wall clock refreshed every few tens of ms, for answers that did not read the clock themselves. */
  coarseNowMs = Date.now();

  /** Counts one local answer about a key (`scopes`: the required scopes of a VALID answer; `nowMs` 0: not read). */
  count(keyId: string, outcome: Outcome, nowMs: number, scopes?: readonly string[]): void {
    if (nowMs === 0) nowMs = this.coarseNowMs;
    let k = this.#keys.get(keyId);
    if (!k) this.#keys.set(keyId, (k = { valid: 0, outcomes: new Map(), scopeUses: new Map(), lastUsedAtMs: nowMs }));
    if (outcome === "VALID") k.valid++;
    else k.outcomes.set(outcome, (k.outcomes.get(outcome) ?? 0) + 1);
    if (nowMs > k.lastUsedAtMs) k.lastUsedAtMs = nowMs;
    if (scopes) {
      for (const s of scopes) {
        const n = k.scopeUses.get(s);
        if (n !== undefined) k.scopeUses.set(s, n + 1);
        else if (k.scopeUses.size < SCOPE_USES_MAX) k.scopeUses.set(s, 1);
      }
    }
  }

  malformed(): void {
    this.#malformed++;
  }

  /** Whether a report has something to say (or one is waiting to be resent). */
  pending(returned: ReadonlyMap<string, Returned>): boolean {
    return this.#inFlight !== undefined || this.#keys.size !== 0 || this.#malformed !== 0 || returned.size !== 0;
  }

  /** A new session numbers its reports from 1 again; an unacknowledged report goes out again under it. */
  newSession(sessionId: string): void {
    this.#seq = 0n;
    if (this.#inFlight) this.#inFlight = { ...this.#inFlight, sessionId, reportSeq: ++this.#seq };
  }

  /**
   * The next report: the one in flight again, or a new one with everything counted since and what was given back
   * (taken out of `back`; entries that did not fit stay in it for the caller to keep).
   */
  next(sessionId: string, back: Map<string, Returned>, closing: boolean): ReportLocalUsageRequest {
    if (this.#inFlight) {
      if (closing && !this.#inFlight.closing && this.#keys.size === 0 && this.#malformed === 0) this.#inFlight.closing = true;
      return this.#inFlight;
    }
    const keys: LocalKeyUsage[] = [];
    for (const id of new Set([...this.#keys.keys(), ...back.keys()])) {
      if (keys.length === REPORT_KEYS_MAX) break;
      const k = this.#keys.get(id);
      const r = back.get(id);
      this.#keys.delete(id);
      back.delete(id);
      keys.push(
        create(LocalKeyUsageSchema, {
          keyId: id,
          outcomes: k ? [...(k.valid ? [["VALID", k.valid] as const] : []), ...k.outcomes].map(([o, count]) => ({ outcome: WireOutcome[o], count: BigInt(count) })) : [],
          scopeUses: k ? [...k.scopeUses].map(([scope, count]) => ({ scope, count: BigInt(count) })) : [],
          lastUsedAt: k ? timestampFromMs(k.lastUsedAtMs) : undefined,
          returnedRateLimitPoints: r?.points ?? 0,
          returnedCredits: BigInt(r?.credits ?? 0),
        }),
      );
    }
    const more = this.#keys.size !== 0 || back.size !== 0;
    // Whatever did not fit waits for the next report.
    this.#inFlight = create(ReportLocalUsageRequestSchema, {
      sessionId,
      reportSeq: ++this.#seq,
      keys,
      malformed: BigInt(this.#malformed),
      closing: closing && !more,
    });
    this.#malformed = 0;
    return this.#inFlight;
  }

  /** The server counted the report in flight. */
  acknowledged(report: ReportLocalUsageRequest): void {
    if (this.#inFlight === report) this.#inFlight = undefined;
  }
}
