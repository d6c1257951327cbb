// Wire-level checks every request passes before its handler runs, on both transports: bytes that do not parse,
// Timestamps outside google.protobuf.Timestamp's range, and enum numbers the API does not define are the caller's
// fault (INVALID_ARGUMENT), found before anything is read or written.
import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import { invalidArgument } from "../domain/errors.js";
import { TIMESTAMP_MAX_SECONDS, TIMESTAMP_MIN_SECONDS } from "../domain/limits.js";
import type { Handler } from "./invoke.js";

/** What grpc-js's requestDeserialize hands on instead of throwing (which grpc-js would answer with INTERNAL). */
export class MalformedRequest {
  constructor(readonly typeName: string, readonly cause: unknown) {}
}

export function malformedMessage(typeName: string, cause: unknown): string {
  const why = cause instanceof Error ? cause.message : String(cause);
  return `request is not a valid ${typeName}: ${why.slice(0, 200)}`;
}

/** Runs the wire checks, then the handler. */
export function guarded(input: DescMessage, handler: Handler): Handler {
  // Messages with no Timestamp or enum anywhere inside (ValidateApiKeyRequest, PingRequest) have nothing to check.
  const walk = hasChecks(input, new Set());
  return (req, ctx) => {
    if (req instanceof MalformedRequest) return Promise.reject(invalidArgument(malformedMessage(req.typeName, req.cause)));
    if (!walk) return handler(req, ctx);
    try {
      checkMessage(input, req as Record<string, unknown>, "");
    } catch (err) {
      return Promise.reject(err);
    }
    return handler(req, ctx);
  };
}

/** Whether a message of this type can hold a Timestamp or an enum (seen: guards against recursive types). */
function hasChecks(desc: DescMessage, seen: Set<DescMessage>): boolean {
  if (desc.typeName === "google.protobuf.Timestamp") return true;
  if (seen.has(desc)) return false;
  seen.add(desc);
  return desc.fields.some((f) => {
    const kind = f.fieldKind === "list" ? f.listKind : f.fieldKind === "map" ? f.mapKind : f.fieldKind;
    if (kind === "enum") return true;
    return kind === "message" && hasChecks((f as { message: DescMessage }).message, seen);
  });
}

function checkMessage(desc: DescMessage, msg: Record<string, unknown>, path: string): void {
  if (desc.typeName === "google.protobuf.Timestamp") return checkTimestamp(msg, path);
  for (const f of desc.fields) {
    const value = valueOf(f, msg);
    if (value === undefined) continue;
    const at = path ? `${path}.${f.name}` : f.name;
    switch (f.fieldKind) {
      case "message":
        checkMessage(f.message, value as Record<string, unknown>, at);
        break;
      case "enum":
        checkEnum(f.enum, value as number, at);
        break;
      case "list":
        if (f.listKind === "message") for (const v of value as Record<string, unknown>[]) checkMessage(f.message, v, at);
        else if (f.listKind === "enum") for (const v of value as number[]) checkEnum(f.enum, v, at);
        break;
      case "map":
        if (f.mapKind === "message") for (const v of Object.values(value as object)) checkMessage(f.message, v, at);
        else if (f.mapKind === "enum") for (const v of Object.values(value as object)) checkEnum(f.enum, v, at);
        break;
    }
  }
}

function valueOf(f: DescField, msg: Record<string, unknown>): unknown {
  if (!f.oneof) return msg[f.localName];
  const o = msg[f.oneof.localName] as { case?: string; value?: unknown } | undefined;
  return o?.case === f.localName ? o.value : undefined;
}

function checkTimestamp(t: Record<string, unknown>, path: string): void {
  const seconds = BigInt(t.seconds as bigint);
  const nanos = t.nanos as number;
  if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS || nanos < 0 || nanos > 999_999_999) {
    throw invalidArgument(`${path} must lie within 0001-01-01T00:00:00Z … 9999-12-31T23:59:59.999999999Z`, path);
  }
}

function checkEnum(e: DescEnum, n: number, path: string): void {
  if (!e.values.some((v) => v.number === n)) throw invalidArgument(`${path} has no value ${n}`, path);
}
