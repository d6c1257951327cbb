// Turns the bearer admin key of a call into a Principal. Lookups are cached briefly (bounded), and dropped at once
// when this process revokes a key; another replica's revocation takes effect here within ttlMs.
import { timingSafeEqual } from "node:crypto";
import type { Clock } from "../domain/clock.js";
import { FluxError } from "../domain/errors.js";
import { ADMIN_KEY_PREFIX, type Digester, isWellFormed } from "../domain/key-material.js";
import type { Principal } from "../domain/types.js";
import type { AdminKeyStore } from "../store/types.js";

const BOOTSTRAP: Principal = { adminKeyId: "bootstrap", validateOnly: false };

export class AdminAuth {
  private readonly cache = new Map<string, { principal?: Principal; untilMs: number }>();
  private readonly bootstrapDigest?: Buffer;

  constructor(
    private readonly store: AdminKeyStore,
    private readonly digest: Digester,
    private readonly clock: Clock,
    bootstrapKey: string | undefined,
    private readonly ttlMs = 5000,
    private readonly maxEntries = 10_000,
  ) {
    if (bootstrapKey) this.bootstrapDigest = Buffer.from(digest(bootstrapKey));
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) {
      throw new FluxError("ADMIN_KEY_MISSING", "missing admin key: send `authorization: Bearer <admin key>`");
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw new FluxError("ADMIN_KEY_INVALID", "authorization must be `Bearer <admin key>`");
    const secret = m[1]!;
    const d = this.digest(secret);
    if (this.bootstrapDigest && timingSafeEqual(Buffer.from(d), this.bootstrapDigest)) return BOOTSTRAP;
    if (!isWellFormed(secret, ADMIN_KEY_PREFIX)) throw invalid();
    const now = this.clock.nowMs();
    const hit = this.cache.get(d);
    if (hit && hit.untilMs > now) {
      if (!hit.principal) throw invalid();
      return hit.principal;
    }
    const rec = await this.store.findByDigest(d);
    const principal =
      rec && rec.revokedAtMs === undefined
        ? { adminKeyId: rec.id, orgId: rec.orgId, validateOnly: rec.validateOnly }
        : undefined;
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(d, { principal, untilMs: now + this.ttlMs });
    if (!principal) throw invalid();
    return principal;
  }

  /** Drops cached lookups of these digests (a revocation here or on another replica). */
  invalidate(digests: string[]): void {
    for (const d of digests) this.cache.delete(d);
  }

  clear(): void {
    this.cache.clear();
  }
}

const invalid = () => new FluxError("ADMIN_KEY_INVALID", "the admin key is not valid (unknown or revoked)");
