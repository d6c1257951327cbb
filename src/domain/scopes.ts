// Scope names and the rules for checking them.

import { LIMITS } from "./limits.js";

const SCOPE_NAME = new RegExp(`^[A-Za-z0-9._:\\-/*]{1,${LIMITS.scopeNameLength}}$`);

export function isValidScopeName(name: string): boolean {
  return SCOPE_NAME.test(name);
}

/** Scopes in `required` that `granted` lacks, in request order. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  if (required.length === 0) return [];
  const have = new Set(granted);
  return required.filter((s) => !have.has(s));
}
