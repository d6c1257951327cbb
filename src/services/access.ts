// Who may do what: org limits and validate-only admin keys. A key of another org looks exactly like a missing one.
import { FluxError, keyNotFound } from "../domain/errors.js";
import type { ApiKeyRecord, Principal } from "../domain/types.js";

export function requireManage(p: Principal): void {
  if (p.validateOnly) {
    throw new FluxError("PERMISSION_DENIED", "this admin key may only validate API keys");
  }
}

export function requireUnrestricted(p: Principal): void {
  requireManage(p);
  if (p.orgId !== undefined) {
    throw new FluxError("PERMISSION_DENIED", "this admin key is limited to one organisation");
  }
}

export function requireOrg(p: Principal, orgId: string): void {
  if (p.orgId !== undefined && p.orgId !== orgId) {
    throw new FluxError("PERMISSION_DENIED", "this admin key is limited to another organisation");
  }
}

export function canSee(p: Principal, key: ApiKeyRecord): boolean {
  return p.orgId === undefined || p.orgId === key.orgId;
}

/** The key when the principal may see it, else the same NOT_FOUND a missing id gets. */
export function visibleOrNotFound(p: Principal, id: string, key: ApiKeyRecord | undefined): ApiKeyRecord {
  if (!key || !canSee(p, key)) throw keyNotFound(id);
  return key;
}
