// Audit events: what a change did, to what, by whom, with the changed fields before and after. Built by the
// services, stored with the change itself by each store. Never holds a secret or a digest.
import { randomBytes } from "node:crypto";

export type AuditAction =
  | "API_KEY_CREATED"
  | "API_KEY_ROTATED"
  | "API_KEY_UPDATED"
  | "API_KEY_DISABLED"
  | "API_KEY_ENABLED"
  | "API_KEY_REVOKED"
  | "API_KEY_LEAK_REPORTED"
  | "SCOPE_DEFINED"
  | "SCOPE_DELETED"
  | "ADMIN_KEY_CREATED"
  | "ADMIN_KEY_REVOKED"
  | "WEBHOOK_ENDPOINT_CREATED"
  | "WEBHOOK_ENDPOINT_UPDATED"
  | "WEBHOOK_ENDPOINT_DELETED"
  | "WEBHOOK_SECRET_ROTATED"
  | "ORGANIZATION_POLICY_UPDATED";

export type AuditTargetType = "API_KEY" | "SCOPE" | "ADMIN_KEY" | "WEBHOOK_ENDPOINT" | "ORGANIZATION";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type FieldValues = Record<string, JsonValue>;

/** Where a call came from, for the record. */
export interface CallInfo {
  requestId?: string;
  callerAddress?: string;
}

export interface AuditEvent {
  /** "evt_" + the time in base 36 (10 digits) + a per-process counter (4) + 12 random characters: ids sort by time. */
  id: string;
  atMs: number;
  action: AuditAction;
  /** The changed object's organisation; absent for scopes and unrestricted admin keys. */
  orgId?: string;
  targetType: AuditTargetType;
  targetId: string;
  actorId: string;
  requestId?: string;
  callerAddress?: string;
  updateMask?: string[];
  before: FieldValues;
  after: FieldValues;
}

const TIME_DIGITS = 10; // 36^10 ms reaches past the year 9999
const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** The smallest event id at `ms` or later: time filters become id ranges (which every store serves from its key). */
export function eventIdFloor(ms: number): string {
  const t = Math.min(Math.max(0, Math.floor(ms)), 36 ** TIME_DIGITS - 1);
  return `evt_${t.toString(36).padStart(TIME_DIGITS, "0")}`;
}

let seq = 0;

/** Ids made in one process in one millisecond keep their order (a counter); other processes' interleave at random. */
export function newEventId(atMs: number): string {
  seq = (seq + 1) % 36 ** 4;
  const bytes = randomBytes(12);
  let rand = "";
  for (const b of bytes) rand += ALPHABET[b % 36];
  return eventIdFloor(atMs) + seq.toString(36).padStart(4, "0") + rand;
}

export const EVENT_ID = /^evt_[0-9a-z]{26}$/;

/** Field names that never enter an event, whatever record they come from. */
const SECRET_FIELD = /digest|secret|hash|pepper/i;
/** Not secrets, though named after one: the end of a rotation's grace period. */
const RENAMED: Record<string, string> = { previousDigestExpiresAtMs: "previousSecretExpiresAtMs" };
/** Record fields that are identity, not state. */
const IDENTITY = new Set(["id", "orgId", "createdAtMs"]);

/**
 * A record as an event shows it: snake_case names, times as RFC 3339 strings, no secret fields. New record fields
 * (policies added later) appear automatically; any name that looks secret stays out.
 */
export function auditView(record: object | undefined): FieldValues {
  const out: FieldValues = {};
  if (!record) return out;
  for (const [field, v] of Object.entries(record)) {
    const k = RENAMED[field] ?? field;
    if (v === undefined || IDENTITY.has(k) || (!(field in RENAMED) && SECRET_FIELD.test(field))) continue;
    const isTime = k.endsWith("AtMs") && typeof v === "number";
    const name = snake(isTime ? k.slice(0, -2) : k);
    out[name] = isTime ? new Date(v).toISOString() : toJson(v, k === "metadata");
  }
  return out;
}

/** Only the fields that differ, each side holding its value (a field absent on one side was unset there). */
export function changedFields(before: FieldValues, after: FieldValues): { before: FieldValues; after: FieldValues } {
  const b: FieldValues = {};
  const a: FieldValues = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[k]) === JSON.stringify(after[k])) continue;
    if (k in before) b[k] = before[k]!;
    if (k in after) a[k] = after[k]!;
  }
  return { before: b, after: a };
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function toJson(v: unknown, keepKeys: boolean): JsonValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map((x) => toJson(x, false));
  if (typeof v === "object") {
    const o: FieldValues = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined && (keepKeys || !SECRET_FIELD.test(k))) o[keepKeys ? k : snake(k)] = toJson(x, false);
    return o;
  }
  return String(v);
}
