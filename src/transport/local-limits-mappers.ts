// LeaseLimits and ReportLocalUsage, wire ↔ domain (services/validator-leases.ts, validator-usage.ts). Counts arrive as
// uint64: a value past 2^53 loses precision here, but every bound it is checked against lies far below that.
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { OUTCOMES, type Outcome as DomainOutcome } from "../domain/types.js";
import type { LeaseAnswer, LeaseAsk } from "../services/validator-leases.js";
import type { UsageReport } from "../services/validator-usage.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LeaseLimitsRequest, LeaseLimitsResponseSchema, ReportLocalUsageRequest } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";

const DOMAIN_OUTCOMES = new Set<string>(OUTCOMES);

export function leaseAskFromWire(req: LeaseLimitsRequest): LeaseAsk {
  return { keyId: req.keyId, rateLimitPoints: req.rateLimitPoints, credits: Number(req.credits) };
}

export function leaseAnswerToWire(a: LeaseAnswer): MessageInitShape<typeof LeaseLimitsResponseSchema> {
  return {
    rateLimit: a.rateLimit && {
      granted: a.rateLimit.granted,
      limit: a.rateLimit.limit,
      unleased: a.rateLimit.unleased,
      resetAt: timestampFromMs(a.rateLimit.resetAtMs),
      expiresInMs: a.rateLimit.expiresInMs,
    },
    credits: a.credits && {
      granted: BigInt(a.credits.granted),
      unleased: BigInt(a.credits.unleased),
      nextRefillAt: a.credits.nextRefillAtMs === undefined ? undefined : timestampFromMs(a.credits.nextRefillAtMs),
      expiresInMs: a.credits.expiresInMs,
    },
  };
}

export function usageReportFromWire(req: ReportLocalUsageRequest): UsageReport {
  return {
    reportSeq: Number(req.reportSeq),
    malformed: Number(req.malformed),
    closing: req.closing,
    keys: req.keys.map((k) => ({
      keyId: k.keyId,
      // UNSPECIFIED and unknown numbers become a name the service refuses (INVALID_ARGUMENT).
      outcomes: k.outcomes.map((o) => ({ outcome: outcomeName(o.outcome), count: Number(o.count) })),
      scopeUses: k.scopeUses.map((u) => ({ scope: u.scope, count: Number(u.count) })),
      lastUsedAtMs: k.lastUsedAt ? timestampMs(k.lastUsedAt) : undefined,
      returnedRateLimitPoints: k.returnedRateLimitPoints,
      returnedCredits: Number(k.returnedCredits),
    })),
  };
}

function outcomeName(o: Outcome): DomainOutcome {
  const name = Outcome[o];
  return (name !== undefined && DOMAIN_OUTCOMES.has(name) ? name : "UNSPECIFIED") as DomainOutcome;
}
