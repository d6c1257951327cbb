// Builds the audit event of a change from the caller and the object's state before and after it. The stores write
// the event with the change (store/mongo/mongo-audit.ts, store/embedded/sqlite-audit.ts).
import { type AuditAction, type AuditEvent, type AuditTargetType, auditView, type CallInfo, changedFields, newEventId } from "../domain/audit.js";
import type { Principal } from "../domain/types.js";

/** Who acts when no admin key does: the first start's bootstrap key, and the operator's CLI. */
export const SYSTEM_ACTOR: Principal = { adminKeyId: "system", validateOnly: false };
export const CLI_ACTOR: Principal = { adminKeyId: "cli", validateOnly: false };

export interface ChangeDescription {
  action: AuditAction;
  targetType: AuditTargetType;
  targetId: string;
  orgId?: string;
  atMs: number;
  /** The object before (undefined: it did not exist) and after (undefined: it is gone). */
  before?: object;
  after?: object;
  updateMask?: string[];
}

export function auditEvent(p: Principal, c: ChangeDescription): AuditEvent {
  const diff = changedFields(auditView(c.before), auditView(c.after));
  const event: AuditEvent = {
    id: newEventId(c.atMs),
    atMs: c.atMs,
    action: c.action,
    targetType: c.targetType,
    targetId: c.targetId,
    actorId: p.adminKeyId,
    before: diff.before,
    after: diff.after,
  };
  if (c.orgId) event.orgId = c.orgId;
  if (p.call?.requestId) event.requestId = p.call.requestId;
  if (p.call?.callerAddress) event.callerAddress = p.call.callerAddress;
  if (c.updateMask) event.updateMask = c.updateMask;
  return event;
}

/** The caller's address without its port (grpc-js peers look like "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000"). */
export function callerAddress(peer: string | undefined): string | undefined {
  if (!peer) return undefined;
  let a = peer.replace(/^ipv[46]:/, "");
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  return a.replace(/^::ffff:(?=[\d.]+$)/i, "").slice(0, 100);
}

export function withCall(p: Principal, call: CallInfo): Principal {
  return { ...p, call };
}
