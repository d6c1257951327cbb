// Slows admin-key guessing: failed authentications are counted per client address (rate-limiter-flexible, in
// memory, one fixed window); past the threshold that address may present only admin keys it has already proven,
// and gets AUTH_THROTTLED (RESOURCE_EXHAUSTED with RetryInfo) for every other key until the window ends. Keys are
// not even checked while throttled, so the answer tells a guesser nothing. A caller whose key worked from the same
// address while it was failing (an office behind one NAT address) keeps working, and addresses that never fail
// cost one Map lookup per call.
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { FluxError } from "../domain/errors.js";

export interface AuthThrottleOptions {
  /** Failed authentications an address may make per window; 0 turns the throttle off. */
  failures: number;
  windowSeconds: number;
  /** Addresses with recent failures tracked at most (the oldest forgotten first). */
  maxAddresses?: number;
  onThrottled?: () => void;
}

/** An address with failures in the current window. */
interface Suspect {
  /** Wall-clock ms until which unknown keys are refused; 0 while under the threshold. */
  blockedUntilMs: number;
  /** When to forget the address (its window ended). */
  forgetAtMs: number;
  /** Digests of admin keys that authenticated from this address while it was a suspect. */
  proven: Set<string>;
}

const MAX_PROVEN_PER_ADDRESS = 64;

export class AuthThrottle {
  private readonly limiter?: RateLimiterMemory;
  private readonly suspects = new Map<string, Suspect>();

  // Wall time (Date.now), as rate-limiter-flexible's windows use it: this is about real callers' speed.
  constructor(private readonly opts: AuthThrottleOptions) {
    // A window of at most an hour keeps rate-limiter-flexible's per-address timer far below setTimeout's 2^31 ms limit.
    if (opts.failures > 0) this.limiter = new RateLimiterMemory({ points: opts.failures, duration: Math.min(opts.windowSeconds, 3600) });
  }

  /** Throws AUTH_THROTTLED when this address is throttled and has not proven the key with this digest. */
  check(address: string | undefined, digest: string): void {
    if (this.suspects.size === 0 || address === undefined) return;
    const s = this.suspects.get(address);
    if (!s) return;
    const now = Date.now();
    if (s.forgetAtMs <= now && s.blockedUntilMs <= now) {
      this.suspects.delete(address);
      return;
    }
    if (s.blockedUntilMs > now && !s.proven.has(digest)) throw this.throttled(s.blockedUntilMs - now);
  }

  /** A key worked from this address: it stays usable from here if the address gets throttled. */
  succeeded(address: string | undefined, digest: string): void {
    if (this.suspects.size === 0 || address === undefined) return;
    const s = this.suspects.get(address);
    if (s && s.proven.size < MAX_PROVEN_PER_ADDRESS) s.proven.add(digest);
  }

  /** Counts a failed authentication; throws AUTH_THROTTLED when it crosses the threshold. */
  async failed(address: string | undefined): Promise<void> {
    if (!this.limiter || address === undefined) return;
    const now = Date.now();
    let s = this.suspects.get(address);
    if (!s) {
      if (this.suspects.size >= (this.opts.maxAddresses ?? 100_000)) this.suspects.delete(this.suspects.keys().next().value!);
      s = { blockedUntilMs: 0, forgetAtMs: 0, proven: new Set() };
      this.suspects.set(address, s);
    }
    try {
      const res = await this.limiter.consume(address);
      s.forgetAtMs = Math.max(s.forgetAtMs, now + res.msBeforeNext);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      s.blockedUntilMs = s.forgetAtMs = now + err.msBeforeNext;
      throw this.throttled(err.msBeforeNext);
    }
  }

  private throttled(retryAfterMs: number): FluxError {
    this.opts.onThrottled?.();
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new FluxError(
      "AUTH_THROTTLED",
      `too many failed admin-key attempts from this address; retry in ${seconds} s`,
      { retry_after_seconds: String(seconds) },
      Math.max(1, Math.ceil(retryAfterMs)),
    );
  }
}

/**
 * The throttled unit for a transport's peer string ("ipv4:1.2.3.4:5678", "[::1]:5678", "::ffff:1.2.3.4"): the IPv4
 * address, or the /64 of an IPv6 one (one host usually holds a whole /64, so single addresses cost it nothing).
 */
export function clientAddress(peer: string | undefined): string | undefined {
  if (!peer) return undefined;
  let p = peer.replace(/^ipv[46]:/, "");
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(p);
  if (bracketed) p = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(p)) p = p.slice(0, p.lastIndexOf(":"));
  p = p.replace(/^::ffff:(?=[\d.]+$)/i, "").replace(/%.*$/, "");
  if (!p.includes(":")) return p;
  const groups = expandIpv6(p);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : p;
}

function expandIpv6(addr: string): string[] | undefined {
  const [head, tail, extra] = addr.split("::");
  if (extra !== undefined) return undefined;
  const h = head ? head.split(":") : [];
  const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
  const missing = 8 - h.length - t.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...h, ...Array<string>(missing).fill("0"), ...t].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""));
}
