// Checks the caller-supplied parts of a request against src/domain/limits.ts before anything is written. Errors
// name at most a few offending values, so an answer stays small however large the request.
import { describeSome, FluxError, invalidArgument, someOf } from "../domain/errors.js";
import { LIMITS, TIMESTAMP_MAX_SECONDS } from "../domain/limits.js";
import { isValidScopeName } from "../domain/scopes.js";
import type { CreditRefill } from "../domain/credits.js";
import type { RateLimit } from "../domain/types.js";
import type { ScopeStore } from "../store/types.js";

export const MAX_WINDOW_SECONDS = LIMITS.windowSecondsMax;
const MAX_TIMESTAMP_MS = Number(TIMESTAMP_MAX_SECONDS) * 1000 + 999;
const ORG_ID = new RegExp(`^[A-Za-z0-9._:\\-]{1,${LIMITS.orgIdLength}}$`);

export function checkOrgId(orgId: string): void {
  if (!ORG_ID.test(orgId)) {
    throw invalidArgument(`org_id is required: 1–${LIMITS.orgIdLength} letters, digits or ._:-`, "org_id");
  }
}

export function checkName(name: string, field = "name"): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > LIMITS.nameLength) {
    throw invalidArgument(`${field} must be 1–${LIMITS.nameLength} characters`, field);
  }
  return trimmed;
}

/** Ids are never echoed back when they are too long to be ours. */
export function checkId(id: string, field = "id"): string {
  if (!id) throw invalidArgument(`${field} is required`, field);
  if (id.length > LIMITS.idLength) throw invalidArgument(`${field} is longer than ${LIMITS.idLength} characters`, field);
  return id;
}

export function checkRateLimit(rl: RateLimit | undefined, field = "rate_limit"): void {
  if (!rl) return;
  if (!Number.isInteger(rl.requests) || rl.requests < 1 || rl.requests > LIMITS.rateLimitRequestsMax) {
    throw invalidArgument(`${field}.requests must be 1–${LIMITS.rateLimitRequestsMax}`, `${field}.requests`);
  }
  if (!Number.isInteger(rl.windowSeconds) || rl.windowSeconds < 1 || rl.windowSeconds > MAX_WINDOW_SECONDS) {
    throw invalidArgument(`${field}.window_seconds must be 1–${MAX_WINDOW_SECONDS}`, `${field}.window_seconds`);
  }
}

/** A credit balance as a caller sets it (field: "credits" on keys, "policy.credits" on organisations). */
export function checkCredits(c: { remaining: number; refill?: CreditRefill } | undefined, field = "credits"): void {
  if (!c) return;
  const max = LIMITS.creditsMax;
  if (!Number.isSafeInteger(c.remaining) || c.remaining < 0 || c.remaining > max) {
    throw invalidArgument(`${field}.remaining must be 0–${max}`, `${field}.remaining`);
  }
  const r = c.refill;
  if (!r) return;
  if (!Number.isSafeInteger(r.amount) || r.amount < 1 || r.amount > max) {
    throw invalidArgument(`${field}.refill.amount must be 1–${max}`, `${field}.refill.amount`);
  }
  if (r.intervalSeconds !== undefined) {
    const { refillIntervalSecondsMin: lo, refillIntervalSecondsMax: hi } = LIMITS;
    if (!Number.isInteger(r.intervalSeconds) || r.intervalSeconds < lo || r.intervalSeconds > hi) {
      throw invalidArgument(`${field}.refill.interval_seconds must be ${lo}–${hi}`, `${field}.refill.interval_seconds`);
    }
  } else if (r.dayOfMonth !== undefined) {
    if (!Number.isInteger(r.dayOfMonth) || r.dayOfMonth < 1 || r.dayOfMonth > 31) {
      throw invalidArgument(`${field}.refill.day_of_month must be 1–31`, `${field}.refill.day_of_month`);
    }
  } else {
    throw invalidArgument(`${field}.refill needs interval_seconds or day_of_month`, `${field}.refill`);
  }
}

export function checkExpiry(expiresAtMs: number | undefined, nowMs: number): void {
  if (expiresAtMs === undefined) return;
  if (!Number.isFinite(expiresAtMs) || expiresAtMs > MAX_TIMESTAMP_MS) {
    throw invalidArgument("expires_at must lie before the year 10000", "expires_at");
  }
  if (expiresAtMs <= nowMs) throw invalidArgument("expires_at must lie in the future", "expires_at");
}

export function checkMetadata(metadata: Record<string, string>): void {
  const entries = Object.entries(metadata);
  if (entries.length > LIMITS.metadataEntries) {
    throw invalidArgument(`metadata holds at most ${LIMITS.metadataEntries} entries (got ${entries.length})`, "metadata");
  }
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > LIMITS.metadataKeyLength || k.startsWith("$") || k.includes(".")) {
      throw invalidArgument(
        `metadata key ${describeSome([k])} must be 1–${LIMITS.metadataKeyLength} characters without "." or a leading "$"`,
        "metadata",
      );
    }
    if (v.length > LIMITS.metadataValueLength) {
      throw invalidArgument(`metadata value of ${describeSome([k])} exceeds ${LIMITS.metadataValueLength} characters`, "metadata");
    }
  }
}

/** Well-formed scope names (at most `max` of them), deduplicated; the shape check shared by every scope list. */
export function checkScopeNames(scopes: string[], field: string, max: number): string[] {
  const unique = [...new Set(scopes)];
  if (unique.length > max) throw invalidArgument(`${field} holds at most ${max} scopes (got ${unique.length})`, field);
  const bad = unique.filter((s) => !isValidScopeName(s));
  if (bad.length) {
    throw invalidArgument(
      `${bad.length} malformed scope name(s) in ${field}: ${describeSome(bad)} (1–${LIMITS.scopeNameLength} letters, digits or ._:-/*)`,
      field,
    );
  }
  return unique;
}

export function checkScopeName(name: string, field = "scope.name"): string {
  if (!isValidScopeName(name)) {
    throw invalidArgument(`${field} must be 1–${LIMITS.scopeNameLength} letters, digits or ._:-/*`, field);
  }
  return name;
}

/** Deduplicated scopes, each well-formed and defined; UNKNOWN_SCOPE names the first few undefined ones and the count. */
export async function checkScopes(scopes: string[], store: ScopeStore): Promise<string[]> {
  const unique = checkScopeNames(scopes, "scopes", LIMITS.scopesPerKey);
  const missing = await store.missing(unique);
  if (missing.length) {
    throw new FluxError(
      "UNKNOWN_SCOPE",
      `${missing.length} scope(s) not defined: ${describeSome(missing)} (define them with DefineScope first)`,
      { scopes: someOf(missing, LIMITS.scopeNameLength).join(","), count: String(missing.length) },
    );
  }
  return unique;
}

export function checkPageToken(token: string): void {
  if (token.length > LIMITS.pageTokenLength) throw invalidArgument("page_token is not one this service issued", "page_token");
}
