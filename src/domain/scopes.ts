// Scope names and the rules for checking them.

const SCOPE_NAME = /^[A-Za-z0-9._:\-/*]{1,100}$/;

export function isValidScopeName(name: string): boolean {
  return SCOPE_NAME.test(name);
}

/** Scopes in `required` that `granted` lacks, in request order. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  if (required.length === 0) return [];
  const have = new Set(granted);
  return required.filter((s) => !have.has(s));
}
