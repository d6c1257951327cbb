//! The SDK's own request and result types: plain structs with std types (`SystemTime`,
//! `Duration`), kept apart from the generated wire types in `crate::proto`.
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use crate::credits::{Credits, CreditsState, OrganizationState, PolicyLevel};

/// A fixed-window request budget: `requests` per `window_seconds`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RateLimit {
    pub requests: u32,
    pub window_seconds: u32,
}

/// What `api_keys().create` needs. Every field but `org_id` and `name` is optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateApiKeyRequest {
    pub org_id: String,
    pub name: String,
    /// Each scope must be defined first (`define_scope`).
    pub scopes: Vec<String>,
    /// `None`: the key never expires. Must lie in the future.
    pub expires_at: Option<SystemTime>,
    /// `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Free-form labels returned on validation.
    pub metadata: HashMap<String, String>,
    /// IPv4/IPv6 CIDRs or addresses (at most 100) the end client must come from; empty: any address.
    pub allowed_cidrs: Vec<String>,
    /// `None`: unmetered. A balance validations spend, optionally refilled.
    pub credits: Option<Credits>,
}

/// A partial update of key `id`: only the fields set to `Some` change.
/// For `rate_limit` and `expires_at`, `Some(None)` clears the value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdateApiKeyRequest {
    pub id: String,
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub rate_limit: Option<Option<RateLimit>>,
    pub expires_at: Option<Option<SystemTime>>,
    pub metadata: Option<HashMap<String, String>>,
    pub enabled: Option<bool>,
    /// Replaces the allowlist; `Some(vec![])` allows any address again.
    pub allowed_cidrs: Option<Vec<String>>,
    /// Sets the balance (and refill) anew; `Some(None)` makes the key unmetered.
    pub credits: Option<Option<Credits>>,
}

/// Which keys `api_keys().list` returns; the default lists the first 50 live keys visible.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListApiKeysRequest {
    /// Only this organisation's keys; all visible keys when empty.
    pub org_id: String,
    /// 1–1000; 0 means the server's default (50).
    pub page_size: u32,
    /// `next_page_token` of the previous page; empty for the first.
    pub page_token: String,
    pub include_revoked: bool,
}

/// Lifecycle state of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyState {
    Active,
    Disabled,
    Revoked,
    Expired,
    Unspecified,
}

/// An API key as the server describes it. Never carries the secret.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub rate_limit: Option<RateLimit>,
    pub expires_at: Option<SystemTime>,
    pub metadata: HashMap<String, String>,
    pub enabled: bool,
    pub state: KeyState,
    /// Tells keys apart without revealing them, e.g. `flux_…a1B2`.
    pub display_hint: String,
    pub created_at: Option<SystemTime>,
    pub updated_at: Option<SystemTime>,
    pub revoked_at: Option<SystemTime>,
    pub rotated_at: Option<SystemTime>,
    /// CIDRs the end client's address must fall in (normalised, e.g. `203.0.113.0/24`); empty: any.
    pub allowed_cidrs: Vec<String>,
    /// `None`: unmetered; `remaining` is the balance now.
    pub credits: Option<Credits>,
}

/// A key together with its secret, as returned by `create` and `rotate`: the only two places the
/// secret is ever shown. `Debug` hides the secret.
#[derive(Clone, PartialEq)]
pub struct IssuedApiKey {
    pub id: String,
    pub secret: String,
    pub api_key: ApiKey,
    /// From `rotate`: how many server replicas (MongoDB with several Flux servers) had not
    /// confirmed the rotation when it answered; always 0 on a single server, and from `create`.
    /// 0: no replica accepts the old secret any more (past the grace period). Otherwise the
    /// rotation is saved all the same and this is still the only time the new secret is shown:
    /// keep it, and do not retry (that would rotate again); those replicas stop accepting the old
    /// secret on their own within seconds.
    pub unconfirmed_replicas: u32,
}

impl fmt::Debug for IssuedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedApiKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("api_key", &self.api_key)
            .field("unconfirmed_replicas", &self.unconfirmed_replicas)
            .finish()
    }
}

/// One page of `list`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeyPage {
    /// Newest first.
    pub api_keys: Vec<ApiKey>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// Why a key was accepted or refused by validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Valid,
    NotFound,
    Malformed,
    Expired,
    Revoked,
    Disabled,
    RateLimited,
    InsufficientScope,
    /// The key has an IP allowlist and the client address was outside it (or not given).
    IpNotAllowed,
    /// A credit balance (the key's or its organisation's) cannot pay the call's cost.
    UsageExceeded,
    /// A value this SDK version does not know (or UNSPECIFIED, as 0).
    Unknown(i32),
}

/// What a validating service needs to know about an accepted key.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyInfo {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub metadata: HashMap<String, String>,
    pub expires_at: Option<SystemTime>,
    /// The key's budget after this validation; `None` when the key has no limit.
    pub rate_limit: Option<RateLimitState>,
    /// The key's balance after this validation; `None` when the key has no credits.
    pub credits: Option<CreditsState>,
    /// The organisation's shared state after this validation; `None` when it has no policy.
    pub organization: Option<OrganizationState>,
}

impl KeyInfo {
    /// Whether the key carries `scope` (exact name).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A key's budget in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitState {
    pub limit: u32,
    pub remaining: u32,
    pub reset_at: Option<SystemTime>,
    /// How long to wait before retrying (non-zero only when rate limited).
    pub retry_after: Duration,
}

/// The full answer of a validation, for callers that want the outcome rather than an `Err`
/// (see `api_keys().check`). `validate` is `check` followed by [`Validation::into_result`].
#[derive(Clone, Debug, PartialEq)]
pub struct Validation {
    pub valid: bool,
    pub outcome: Outcome,
    /// Set when the secret matched a key (absent for NOT_FOUND, MALFORMED).
    pub key: Option<KeyInfo>,
    pub rate_limit: Option<RateLimitState>,
    /// Required scopes the key lacks (INSUFFICIENT_SCOPE only).
    pub missing_scopes: Vec<String>,
    /// The key's balance after the call (keys with credits).
    pub credits: Option<CreditsState>,
    /// The organisation's shared state (organisations with a policy).
    pub organization: Option<OrganizationState>,
    /// `RateLimited` and `UsageExceeded`: whose policy refused.
    pub refused_by: Option<PolicyLevel>,
}

/// Per-key usage in the current calendar month (UTC).
#[derive(Clone, Debug, PartialEq)]
pub struct Usage {
    pub id: String,
    pub period_start: Option<SystemTime>,
    /// Validations of this key in the current period.
    pub requests_current_period: i64,
    /// Non-VALID validations in the current period.
    pub errors_current_period: i64,
    /// errors / requests, 0 when there were no requests.
    pub error_rate: f64,
    /// The latest VALID validation; `None` if never used.
    pub last_used_at: Option<SystemTime>,
    /// Counts per outcome in the current period.
    pub outcomes: Vec<(Outcome, i64)>,
    /// Daily buckets, oldest first.
    pub series: Vec<UsageBucket>,
    /// The key's scopes no validation required in the last `unused_scope_days` (default 30).
    pub unused_scopes: Vec<String>,
    /// Each of the key's scopes with the latest validation that required it (`None`: never).
    pub scope_uses: Vec<ScopeUse>,
}

/// When a validation last required one of a key's scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeUse {
    pub scope: String,
    pub last_required_at: Option<SystemTime>,
}

/// Bucket size of a usage series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Granularity {
    #[default]
    Day,
    Hour,
}

/// What `organizations().get_usage_with` asks for; the default is 30 days by day, 10 top keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationUsageRequest {
    pub org_id: String,
    pub granularity: Granularity,
    /// Start of the series and totals; `None`: 24 hours (hourly) or 30 days (daily) ago.
    pub series_start: Option<SystemTime>,
    /// Keys per top list, 1–100; 0 means 10.
    pub top_keys: u32,
}

/// One key's traffic in an organisation's usage.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyUsageSummary {
    pub key_id: String,
    pub name: String,
    pub requests: i64,
    pub errors: i64,
    pub error_rate: f64,
}

/// All of an organisation's keys' validations since `series_start`, and its top keys.
#[derive(Clone, Debug, PartialEq)]
pub struct OrganizationUsage {
    pub org_id: String,
    pub requests: i64,
    pub errors: i64,
    /// errors / requests, 0 when there were no requests.
    pub error_rate: f64,
    /// Counts per outcome.
    pub outcomes: Vec<(Outcome, i64)>,
    /// Buckets oldest first.
    pub series: Vec<UsageBucket>,
    /// Most validations first.
    pub top_keys_by_requests: Vec<KeyUsageSummary>,
    /// Highest error rate first, among keys with at least 10 validations.
    pub top_keys_by_error_rate: Vec<KeyUsageSummary>,
}

/// One bucket of the usage series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageBucket {
    pub start_time: Option<SystemTime>,
    pub requests: i64,
    pub valid: i64,
    pub rate_limited: i64,
    pub other_errors: i64,
    /// `UsageExceeded` validations (not counted in `other_errors`).
    pub usage_exceeded: i64,
}

/// A permission scope that keys may carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    pub description: String,
    pub created_at: Option<SystemTime>,
}
