// Checks the caller-supplied parts of a key (create and update) and reports every problem at once.
import { FluxError, invalidArgument } from "../domain/errors.js";
import { isValidScopeName } from "../domain/scopes.js";
import type { RateLimit } from "../domain/types.js";
import type { ScopeStore } from "../store/types.js";

export const MAX_WINDOW_SECONDS = 31_536_000;
const MAX_METADATA_ENTRIES = 32;

export function checkOrgId(orgId: string): void {
  if (!/^[A-Za-z0-9._:\-]{1,128}$/.test(orgId)) {
    throw invalidArgument("org_id is required: 1–128 letters, digits or ._:-", "org_id");
  }
}

export function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200) throw invalidArgument("name must be 1–200 characters", "name");
  return trimmed;
}

export function checkRateLimit(rl: RateLimit | undefined): void {
  if (!rl) return;
  if (!Number.isInteger(rl.requests) || rl.requests < 1) {
    throw invalidArgument("rate_limit.requests must be at least 1", "rate_limit.requests");
  }
  if (!Number.isInteger(rl.windowSeconds) || rl.windowSeconds < 1 || rl.windowSeconds > MAX_WINDOW_SECONDS) {
    throw invalidArgument(`rate_limit.window_seconds must be 1–${MAX_WINDOW_SECONDS}`, "rate_limit.window_seconds");
  }
}

export function checkExpiry(expiresAtMs: number | undefined, nowMs: number): void {
  if (expiresAtMs !== undefined && expiresAtMs <= nowMs) {
    throw invalidArgument("expires_at must lie in the future", "expires_at");
  }
}

export function checkMetadata(metadata: Record<string, string>): void {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_ENTRIES) {
    throw invalidArgument(`metadata holds at most ${MAX_METADATA_ENTRIES} entries`, "metadata");
  }
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > 64 || k.startsWith("$") || k.includes(".")) {
      throw invalidArgument(`metadata key ${JSON.stringify(k.slice(0, 64))} must be 1–64 characters without "." or a leading "$"`, "metadata");
    }
    if (v.length > 512) throw invalidArgument(`metadata value of ${JSON.stringify(k)} exceeds 512 characters`, "metadata");
  }
}

/** Deduplicated scopes, each well-formed and defined; UNKNOWN_SCOPE names every undefined one. */
export async function checkScopes(scopes: string[], store: ScopeStore): Promise<string[]> {
  const unique = [...new Set(scopes)];
  const bad = unique.filter((s) => !isValidScopeName(s));
  if (bad.length) throw invalidArgument(`malformed scope names: ${bad.map((s) => JSON.stringify(s.slice(0, 100))).join(", ")}`, "scopes");
  const missing = await store.missing(unique);
  if (missing.length) {
    throw new FluxError(
      "UNKNOWN_SCOPE",
      `scopes not defined: ${missing.join(", ")} (define them with DefineScope first)`,
      { scopes: missing.join(",") },
    );
  }
  return unique;
}
