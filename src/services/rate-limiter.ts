// What validation asks of a rate limiter, and the window rule both limiters share. Implementations:
// WindowCounter (in memory: the embedded store, and the insurance limiter when MongoDB fails) and
// LeasedRateLimiter (MongoDB: one window per key shared by every replica, spent from leases).
import type { RateLimit, RateLimitState } from "../domain/types.js";

export interface RateDecision extends RateLimitState {
  allowed: boolean;
}

/** Counts per key id: nothing done to one key's limit changes another key's count. */
export interface KeyRateLimiter {
  consume(keyId: string, limit: RateLimit): Promise<RateDecision>;
  /** consume's decision when it needs no waiting (no store read or lease); undefined, having spent nothing, otherwise. */
  consumeNow?(keyId: string, limit: RateLimit): RateDecision | undefined;
  /** Gives back the point an admitted call took when a later policy refused the call (same window only). */
  refund?(keyId: string, limit: RateLimit, d: RateDecision): void;
}

/** A key's fixed window: when it started, when it ends at the latest (start + the length it started with), what it spent. */
export interface WindowState {
  startMs: number;
  endMs: number;
  count: number;
}

/**
 * When a window ends under the key's current limit. A changed window length keeps the window's start: a shorter
 * length ends the window at start + new length (at once if that has passed); a longer one applies from the next
 * window, so a window never outlives the length it started with and expired state can be dropped on its own end.
 */
export function windowEndMs(w: Pick<WindowState, "startMs" | "endMs">, limit: RateLimit): number {
  return Math.min(w.endMs, w.startMs + limit.windowSeconds * 1000);
}

export function allowed(limit: RateLimit, remaining: number, resetAtMs: number): RateDecision {
  return { allowed: true, limit: limit.requests, remaining, resetAtMs, retryAfterMs: 0 };
}

export function denied(limit: RateLimit, resetAtMs: number, nowMs: number): RateDecision {
  return { allowed: false, limit: limit.requests, remaining: 0, resetAtMs, retryAfterMs: Math.max(1, resetAtMs - nowMs) };
}
