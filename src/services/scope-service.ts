// Scope definitions ("API Keys settings"): app-wide, managed by unrestricted admin keys, readable by any manager.
import type { Clock } from "../domain/clock.js";
import { FluxError, invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import type { Principal, ScopeRecord } from "../domain/types.js";
import type { KeyStore, ScopeStore } from "../store/types.js";
import { requireManage, requireUnrestricted } from "./access.js";
import { auditEvent } from "./audit-trail.js";
import { checkScopeName } from "./key-input.js";

export class ScopeService {
  constructor(private readonly scopes: ScopeStore, private readonly keys: KeyStore, private readonly clock: Clock) {}

  async define(p: Principal, name: string, description: string): Promise<ScopeRecord> {
    requireUnrestricted(p);
    checkScopeName(name, "scope.name");
    if (description.length > LIMITS.scopeDescriptionLength) {
      throw invalidArgument(`scope.description exceeds ${LIMITS.scopeDescriptionLength} characters`, "scope.description");
    }
    const now = this.clock.nowMs();
    const scope = { name, description, createdAtMs: now };
    return this.scopes.upsert(scope, (before) =>
      auditEvent(p, { action: "SCOPE_DEFINED", targetType: "SCOPE", targetId: name, atMs: now, before, after: { ...scope, createdAtMs: before?.createdAtMs ?? now } }),
    );
  }

  async list(p: Principal): Promise<ScopeRecord[]> {
    requireManage(p);
    return this.scopes.list();
  }

  async delete(p: Principal, name: string): Promise<void> {
    requireUnrestricted(p);
    const inUse = await this.keys.countWithScope(name);
    if (inUse > 0) {
      throw new FluxError("SCOPE_IN_USE", `scope ${JSON.stringify(name)} is carried by ${inUse} live key(s); remove it from them first`, {
        scope: name,
        keys: String(inUse),
      });
    }
    const now = this.clock.nowMs();
    const event = (before: ScopeRecord | undefined) => auditEvent(p, { action: "SCOPE_DELETED", targetType: "SCOPE", targetId: name, atMs: now, before });
    if (!(await this.scopes.delete(name, event))) {
      throw new FluxError("SCOPE_NOT_FOUND", `scope ${JSON.stringify(name)} is not defined`, { scope: name });
    }
  }
}
