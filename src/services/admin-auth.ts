// Turns the bearer admin key of a call into a Principal. Lookups are cached (bounded; unknown keys apart from real
// ones), dropped at once when a key is revoked here or on another replica (change feed), re-read after maxAgeMs so
// a lost invalidation heals by itself, and bypassed while the change feed is stale. Failed attempts are throttled
// per client address (AuthThrottle).
import { timingSafeEqual } from "node:crypto";
import type { Clock } from "../domain/clock.js";
import { FluxError } from "../domain/errors.js";
import { ADMIN_KEY_PREFIX, type Digester, isWellFormed } from "../domain/key-material.js";
import type { Principal } from "../domain/types.js";
import type { AdminKeyStore } from "../store/types.js";
import { AgedCache, type AgedCacheStats } from "./aged-cache.js";
import type { AuthThrottle } from "./auth-throttle.js";

const MAX_PROVEN_HEADERS = 1000;
const BOOTSTRAP: Principal = { adminKeyId: "bootstrap", validateOnly: false };

export interface AdminAuthOptions {
  /** A cached admin key is read again this long after it was read (default 5 s). */
  maxAgeMs?: number;
  /** An unknown admin key is trusted to stay unknown this long (default 2 s). */
  negativeTtlMs?: number;
  maxEntries?: number;
  negativeMaxEntries?: number;
  /** False while this replica's change feed is behind: every call reads the store. */
  isFresh?: () => boolean;
  throttle?: AuthThrottle;
  /** Called for each failed authentication (a wrong, unknown or revoked key). */
  onFailure?: () => void;
}

export class AdminAuth {
  private readonly cache: AgedCache<Principal>;
  private readonly bootstrapDigest?: Buffer;
  /** Authorization headers that worked → their digest (bounded; only headers that authenticated). */
  private readonly proven = new Map<string, { digest: string; bootstrap: boolean }>();

  constructor(
    private readonly store: AdminKeyStore,
    private readonly digest: Digester,
    clock: Clock,
    bootstrapKey: string | undefined,
    private readonly opts: AdminAuthOptions = {},
  ) {
    if (bootstrapKey) this.bootstrapDigest = Buffer.from(digest(bootstrapKey));
    this.cache = new AgedCache(clock, {
      maxAgeMs: opts.maxAgeMs ?? 5000,
      negativeTtlMs: opts.negativeTtlMs ?? 2000,
      maxEntries: opts.maxEntries ?? 10_000,
      negativeMaxEntries: opts.negativeMaxEntries ?? 10_000,
      isFresh: opts.isFresh,
    });
  }

  get stats(): AgedCacheStats {
    return this.cache.stats;
  }

  /** `peer` is the client's address, for throttling failed attempts; undefined skips the throttle. */
  async authenticate(authorization: string | undefined, peer?: string): Promise<Principal> {
    if (!authorization) {
      throw new FluxError("ADMIN_KEY_MISSING", "missing admin key: send `authorization: Bearer <admin key>`");
    }
    // A header that authenticated before skips the parse and the hash; whether its key still works is decided below,
    // as for any other. The memo is keyed by the header itself, so it holds up to 1,000 working admin keys in this
    // process's memory (never logged or stored, like FLUX_ADMIN_KEY from the environment), mapped to their digests.
    const known = this.proven.get(authorization);
    let d: string;
    let bootstrap: boolean;
    let wellFormed = true;
    if (known) ({ digest: d, bootstrap } = known);
    else {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) throw new FluxError("ADMIN_KEY_INVALID", "authorization must be `Bearer <admin key>`");
      const secret = m[1]!;
      d = this.digest(secret);
      bootstrap = !!this.bootstrapDigest && timingSafeEqual(Buffer.from(d), this.bootstrapDigest);
      wellFormed = bootstrap || isWellFormed(secret, ADMIN_KEY_PREFIX);
    }
    this.opts.throttle?.check(peer, d);
    let principal: Principal | undefined;
    if (bootstrap) principal = BOOTSTRAP;
    else if (wellFormed) principal = await this.cache.get(d, () => this.lookup(d));
    if (!principal) {
      this.opts.onFailure?.();
      await this.opts.throttle?.failed(peer);
      throw invalid();
    }
    this.opts.throttle?.succeeded(peer, d);
    if (!known) {
      if (this.proven.size >= MAX_PROVEN_HEADERS) this.proven.clear();
      this.proven.set(authorization, { digest: d, bootstrap });
    }
    return principal;
  }

  /**
   * The principal of a header that authenticated before and whose admin key is cached, without waiting; undefined
   * when authenticate() must decide (first use, a cache miss, a refused key). Throws AUTH_THROTTLED as authenticate does.
   */
  authenticateNow(authorization: string | undefined, peer?: string): Principal | undefined {
    const known = authorization === undefined ? undefined : this.proven.get(authorization);
    if (!known) return undefined;
    this.opts.throttle?.check(peer, known.digest);
    const principal = known.bootstrap ? BOOTSTRAP : this.cache.peek(known.digest); // stats: counted by authenticate only
    if (!principal) return undefined;
    this.opts.throttle?.succeeded(peer, known.digest);
    return principal;
  }

  /** Drops cached lookups of these digests (a revocation here or on another replica). */
  invalidate(digests: string[]): void {
    this.cache.invalidate(digests);
  }

  clear(): void {
    this.cache.clear();
  }

  private async lookup(d: string): Promise<Principal | undefined> {
    const rec = await this.store.findByDigest(d);
    return rec && rec.revokedAtMs === undefined ? { adminKeyId: rec.id, orgId: rec.orgId, validateOnly: rec.validateOnly, localValidation: rec.localValidation === true } : undefined;
  }
}

const invalid = () => new FluxError("ADMIN_KEY_INVALID", "the admin key is not valid (unknown or revoked)");
