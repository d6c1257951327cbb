// Every bound on what a caller may send, in one place: the services check against these, the field-bounds tests
// walk them, and the README's limits table lists them. Lengths count UTF-16 code units (JavaScript string length).

export const LIMITS = {
  /** org_id: letters, digits and ._:- */
  orgIdLength: 128,
  /** API key and admin key names, after trimming. */
  nameLength: 200,
  /** Ids we issue are 24 characters; anything much longer cannot be one. */
  idLength: 64,
  scopesPerKey: 100,
  scopeNameLength: 100,
  scopeDescriptionLength: 500,
  metadataEntries: 32,
  metadataKeyLength: 64,
  metadataValueLength: 512,
  rateLimitRequestsMax: 1_000_000_000,
  /** One year. */
  windowSecondsMax: 31_536_000,
  /** One week. */
  gracePeriodSecondsMax: 604_800,
  pageSizeMax: 1000,
  pageTokenLength: 200,
  /** ValidateApiKey: longer keys are MALFORMED without a lookup (an answer, not an error). */
  keyLength: 512,
  requiredScopes: 100,
  updateMaskPaths: 16,
  /** Credit balances and refill amounts (keys and organisations): 0–10^15 (1–10^15 for a refill amount). */
  creditsMax: 1_000_000_000_000_000,
  refillIntervalSecondsMin: 60,
  /** One year. */
  refillIntervalSecondsMax: 31_536_000,
  /** ValidateApiKey.cost: credits one call may spend. */
  costMax: 1_000_000,
  /** GetApiKeyUsage: series_start at most this many hours (or days) back. */
  usageSeriesBuckets: 2000,
  /** POST /v1/leaks/report: body bytes (past it: 413, unread) and tokens per report (past it: 400). */
  leakReportBytes: 512 * 1024,
  leakReportTokens: 1000,
  /** Each report entry's `type` and `source`, and its `url` (they are kept in the audit event). */
  leakFieldLength: 100,
  leakUrlLength: 2048,
  /** Webhook endpoint url (http or https only). */
  webhookUrlLength: 2000,
  webhookDescriptionLength: 500,
  /** Endpoints per organisation (and for all organisations together). */
  webhookEndpointsPerOrg: 20,
  /** event_types per endpoint: at most the closed list (domain/webhooks.ts), no repeats. */
  webhookEventTypes: 10,
  /** API key allowed_cidrs: entries per key, and characters per entry (the longest IPv6 CIDR is 49). */
  allowedCidrs: 100,
  cidrLength: 64,
  /** ValidateApiKey.client_ip: the longest IPv6 text form is 45 characters. */
  clientIpLength: 45,
  /** GetApiKeyUsage.unused_scope_days: 1 … this (0 means 30). */
  unusedScopeDaysMax: 365,
  /** GetOrganizationUsage.top_keys: 1 … this (0 means 10). */
  topKeysMax: 100,
  /** SubscribeKeys.validator_name (names a validator in logs and metrics). */
  validatorNameLength: 100,
  /** LeaseLimits: rate-limit points and credits one call may ask for (0: none). */
  leaseRateLimitPointsMax: 1_000_000,
  leaseCreditsMax: 1_000_000_000_000_000,
  /** ReportLocalUsage: keys per report, and scope-use entries per key. */
  reportKeysMax: 10_000,
  reportScopeUsesMax: 100,
  /** ReportLocalUsage: one count (answers of one outcome, scope uses, malformed) in one report. */
  reportCountMax: 1_000_000_000_000,
} as const;

/** google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z … 9999-12-31T23:59:59.999999999Z. */
export const TIMESTAMP_MIN_SECONDS = -62_135_596_800n;
export const TIMESTAMP_MAX_SECONDS = 253_402_300_799n;

/** Errors name at most this many offending values, plus how many there were. */
export const ERROR_VALUES_SHOWN = 5;

/** The backstop every error passes through on its way out (transport/error-table.ts), so trailers stay < 8 KB. */
export const ERROR_BOUNDS = {
  messageBytes: 512,
  metadataEntries: 8,
  metadataKeyLength: 64,
  metadataValueLength: 512,
  metadataTotalLength: 1024,
} as const;
