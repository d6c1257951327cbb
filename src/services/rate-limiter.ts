// Per-key fixed-window limits through rate-limiter-flexible: in-process for the embedded store, shared through
// MongoDB otherwise, with an in-memory insurance limiter when MongoDB fails and in-memory blocking of keys already
// over their limit, so denied traffic never reaches the database.
import type { MongoClient } from "mongodb";
import {
  RateLimiterMemory,
  RateLimiterMongo,
  RateLimiterRes,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import { storeUnavailable } from "../domain/errors.js";
import type { RateLimit, RateLimitState } from "../domain/types.js";

export interface RateDecision extends RateLimitState {
  allowed: boolean;
}

export interface KeyRateLimiter {
  consume(keyId: string, limit: RateLimit): Promise<RateDecision>;
}

type Factory = (limit: RateLimit, keyPrefix: string) => RateLimiterAbstract;

export function memoryLimiterFactory(): Factory {
  return (limit, keyPrefix) =>
    new RateLimiterMemory({ points: limit.requests, duration: limit.windowSeconds, keyPrefix });
}

export function mongoLimiterFactory(client: MongoClient, dbName: string): Factory {
  return (limit, keyPrefix) =>
    new RateLimiterMongo({
      storeClient: client,
      dbName,
      tableName: "rate_limits",
      // FerretDB cannot create the TTL index, after which the library never creates the unique one: we create it.
      disableIndexesCreation: true,
      points: limit.requests,
      duration: limit.windowSeconds,
      keyPrefix,
      inMemoryBlockOnConsumed: limit.requests,
      insuranceLimiter: new RateLimiterMemory({ points: limit.requests, duration: limit.windowSeconds, keyPrefix }),
    } as ConstructorParameters<typeof RateLimiterMongo>[0]);
}

/** One library limiter per distinct (requests, window); the window's prefix is shared so a changed limit keeps the count. */
export class RateLimiterPool implements KeyRateLimiter {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly factory: Factory, private readonly maxLimiters = 10_000) {}

  async consume(keyId: string, limit: RateLimit): Promise<RateDecision> {
    const limiter = this.limiterFor(limit);
    try {
      const res = await limiter.consume(keyId, 1);
      return decision(true, limit, res);
    } catch (err) {
      if (err instanceof RateLimiterRes) return decision(false, limit, err);
      throw storeUnavailable(err);
    }
  }

  limiterFor(limit: RateLimit): RateLimiterAbstract {
    const id = `${limit.requests}/${limit.windowSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      // Bounded: distinct limit shapes are few in practice; past the bound the oldest is dropped.
      if (this.limiters.size >= this.maxLimiters) this.limiters.delete(this.limiters.keys().next().value!);
      limiter = this.factory(limit, `rl${limit.windowSeconds}`);
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}

function decision(allowed: boolean, limit: RateLimit, res: RateLimiterRes): RateDecision {
  const now = Date.now();
  return {
    allowed,
    limit: limit.requests,
    remaining: Math.max(0, res.remainingPoints),
    resetAtMs: now + res.msBeforeNext,
    retryAfterMs: allowed ? 0 : Math.max(1, res.msBeforeNext),
  };
}
