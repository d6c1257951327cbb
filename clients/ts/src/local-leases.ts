// Rate-limit points and credits leased from the server (LeaseLimits), per key: spent synchronously while they last,
// refilled by one LeaseLimits call at a time per key, and given back (in the next usage report) when dropped.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { LeaseLimitsResponse } from "./gen/flux/apikeys/v1/local_validation_pb.js";

export interface RateLease {
  /** Points of this lease not spent yet. */
  left: number;
  limit: number;
  /** Points of the window nobody had leased at the grant (RateLimitState.remaining = left + unleased). */
  unleased: number;
  resetAtMs: number | undefined;
  /** The same instant as a Date, shared by this lease's answers. */
  resetAt: Date | undefined;
  /** Monotonic (performance.now()) end of the lease. */
  untilMono: number;
  /** The chunk this key asks for: the next one is leased ahead once half of it is spent. */
  chunk: number;
  /** The server granted nothing: refuse locally until `retryMono` instead of asking again per call. */
  spent: boolean;
  /** When a spent window is asked again (returned points may have come back): a second after the grant. */
  retryMono: number;
}

export interface CreditLease {
  left: number;
  unleased: number;
  nextRefillAtMs: number | undefined;
  nextRefillAt: Date | undefined;
  untilMono: number;
  /** The server could not grant what was asked: refuse costs above `left` until `retryMono`. */
  short: boolean;
  retryMono: number;
}

export interface KeyLeases {
  rate?: RateLease;
  credits?: CreditLease;
  /** The LeaseLimits call in flight for this key, if any. */
  pending?: Promise<void>;
  /** Bumped when the key's leases are dropped, so a grant for the old generation is given back, not used. */
  generation: number;
}

/** What a validator gives back in its next report, per key. */
export interface Returned {
  points: number;
  credits: number;
}

/** A spent window or balance is asked again at most this often (others may have returned what they held). */
const ASK_AGAIN_MS = 1000;

/** How many points to ask for: a twentieth of the limit, at least 1, at most 10,000 (the server's cap per grant). */
export const rateChunk = (limit: number): number => Math.max(1, Math.min(Math.floor(limit / 20), 10_000));

/** How many credits to ask for a call of `cost`: a twentieth of what was unleased last time, 10 … 1,000, and the cost. */
export const creditChunk = (cost: number, lastUnleased: number | undefined): number =>
  Math.max(cost, lastUnleased === undefined ? 10 : Math.max(10, Math.min(Math.floor(lastUnleased / 20), 1000)));

export class LeaseBook {
  readonly #leases = new Map<string, KeyLeases>();
  /** Given up and not yet reported, per key id. */
  readonly returned = new Map<string, Returned>();

  get(keyId: string): KeyLeases {
    let l = this.#leases.get(keyId);
    if (!l) this.#leases.set(keyId, (l = { generation: 0 }));
    return l;
  }

  /** The LeaseLimits calls in flight. */
  pendingLeases(): Promise<void>[] {
    return [...this.#leases.values()].flatMap((l) => (l.pending ? [l.pending] : []));
  }

  keyIds(): string[] {
    return [...this.#leases.keys()];
  }

  peek(keyId: string): KeyLeases | undefined {
    return this.#leases.get(keyId);
  }

  /** The usable rate lease, or undefined when there is none (or it ended: its unspent points are lost with the window). */
  rate(l: KeyLeases, nowMono: number): RateLease | undefined {
    const r = l.rate;
    if (!r) return undefined;
    if (nowMono >= r.untilMono) {
      l.rate = undefined;
      return undefined;
    }
    return r;
  }

  /** The usable credits lease; an ended one is given back. */
  credits(keyId: string, l: KeyLeases, nowMono: number): CreditLease | undefined {
    const c = l.credits;
    if (!c) return undefined;
    if (nowMono >= c.untilMono) {
      l.credits = undefined;
      this.giveBack(keyId, 0, c.left);
      return undefined;
    }
    return c;
  }

  /**
   * Records a LeaseLimits answer (asked at `startMono`, `startMs` on the wall clock) into the key's leases. A lease
   * ends at the earlier of its expiry and its window's end (or the balance's next refill), both turned into the
   * monotonic clock here, so spending reads no wall clock.
   */
  grant(keyId: string, l: KeyLeases, res: LeaseLimitsResponse, startMono: number, askedCredits: number, startMs = Date.now()): void {
    const until = (expiresInMs: number, endMs: number | undefined) => startMono + Math.min(expiresInMs, endMs === undefined ? Infinity : endMs - startMs);
    const r = res.rateLimit;
    if (r) {
      const prev = l.rate;
      l.rate = {
        left: (prev && prev.untilMono > startMono ? prev.left : 0) + r.granted,
        limit: r.limit,
        unleased: r.unleased,
        resetAtMs: r.resetAt ? timestampMs(r.resetAt) : undefined,
        resetAt: r.resetAt ? new Date(timestampMs(r.resetAt)) : undefined,
        untilMono: until(r.expiresInMs, r.resetAt ? timestampMs(r.resetAt) : undefined),
        chunk: rateChunk(r.limit),
        spent: r.granted === 0,
        retryMono: startMono + ASK_AGAIN_MS,
      };
    }
    const c = res.credits;
    if (c) {
      const granted = Number(c.granted);
      const prev = l.credits;
      const end = until(c.expiresInMs, c.nextRefillAt ? timestampMs(c.nextRefillAt) : undefined);
      l.credits = {
        left: (prev?.left ?? 0) + granted,
        unleased: Number(c.unleased),
        nextRefillAtMs: c.nextRefillAt ? timestampMs(c.nextRefillAt) : undefined,
        nextRefillAt: c.nextRefillAt ? new Date(timestampMs(c.nextRefillAt)) : undefined,
        // Credits held from an earlier grant end with it: the whole lot ends at the earlier of the two.
        untilMono: prev ? Math.min(prev.untilMono, end) : end,
        short: granted < askedCredits,
        retryMono: startMono + ASK_AGAIN_MS,
      };
    }
  }

  /** Drops a key's leases (its limits may have changed); unspent points and credits are given back. */
  drop(keyId: string): void {
    const l = this.#leases.get(keyId);
    if (!l) return;
    this.#leases.delete(keyId);
    l.generation++;
    this.giveBack(keyId, l.rate?.left ?? 0, l.credits?.left ?? 0);
  }

  /** Drops a key's credits lease only (given back), keeping its rate-limit points. */
  dropCredits(keyId: string): void {
    const l = this.#leases.get(keyId);
    if (!l?.credits) return;
    this.giveBack(keyId, 0, l.credits.left);
    l.credits = undefined;
  }

  /** Drops every lease (stale state, or closing). */
  dropAll(): void {
    for (const id of [...this.#leases.keys()]) this.drop(id);
  }

  /** Records points and credits given up, for the next report. */
  giveBack(keyId: string, points: number, credits: number): void {
    if (points <= 0 && credits <= 0) return;
    const r = this.returned.get(keyId) ?? { points: 0, credits: 0 };
    r.points += Math.max(0, points);
    r.credits += Math.max(0, credits);
    this.returned.set(keyId, r);
  }

  /** Takes what was given back, for a report. */
  takeReturned(): Map<string, Returned> {
    const out = new Map(this.returned);
    this.returned.clear();
    return out;
  }
}
