//! Mappers between the generated wire types (`crate::proto::v1`) and the SDK's types.
use std::time::{Duration, SystemTime};

use crate::credits::{policy_level, CreditsState, PolicyLevel};
use crate::error::Error;
use crate::proto::v1 as pb;
use crate::types::*;

pub(crate) fn time_from(ts: Option<prost_types::Timestamp>) -> Option<SystemTime> {
    ts.and_then(|ts| SystemTime::try_from(ts).ok())
}

pub(crate) fn time_to(t: Option<SystemTime>) -> Option<prost_types::Timestamp> {
    t.map(prost_types::Timestamp::from)
}

/// A response field the server must always set; its absence is a protocol fault.
pub(crate) fn required<T>(value: Option<T>, what: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::Internal {
        reason: String::new(),
        message: format!("the server's response lacks {what}"),
    })
}

impl From<RateLimit> for pb::RateLimit {
    fn from(r: RateLimit) -> Self {
        pb::RateLimit {
            requests: r.requests,
            window_seconds: r.window_seconds,
        }
    }
}

impl From<pb::RateLimit> for RateLimit {
    fn from(r: pb::RateLimit) -> Self {
        RateLimit {
            requests: r.requests,
            window_seconds: r.window_seconds,
        }
    }
}

impl From<CreateApiKeyRequest> for pb::CreateApiKeyRequest {
    fn from(r: CreateApiKeyRequest) -> Self {
        pb::CreateApiKeyRequest {
            org_id: r.org_id,
            name: r.name,
            scopes: r.scopes,
            expires_at: time_to(r.expires_at),
            rate_limit: r.rate_limit.map(Into::into),
            metadata: r.metadata,
            allowed_cidrs: r.allowed_cidrs,
            credits: r.credits.map(Into::into),
        }
    }
}

impl From<UpdateApiKeyRequest> for pb::UpdateApiKeyRequest {
    fn from(r: UpdateApiKeyRequest) -> Self {
        let mut paths = Vec::new();
        let mut key = pb::ApiKey {
            id: r.id,
            ..Default::default()
        };
        if let Some(name) = r.name {
            paths.push("name");
            key.name = name;
        }
        if let Some(scopes) = r.scopes {
            paths.push("scopes");
            key.scopes = scopes;
        }
        if let Some(rate_limit) = r.rate_limit {
            paths.push("rate_limit");
            key.rate_limit = rate_limit.map(Into::into);
        }
        if let Some(expires_at) = r.expires_at {
            paths.push("expires_at");
            key.expires_at = time_to(expires_at);
        }
        if let Some(metadata) = r.metadata {
            paths.push("metadata");
            key.metadata = metadata;
        }
        if let Some(enabled) = r.enabled {
            paths.push("enabled");
            key.enabled = enabled;
        }
        if let Some(allowed_cidrs) = r.allowed_cidrs {
            paths.push("allowed_cidrs");
            key.allowed_cidrs = allowed_cidrs;
        }
        if let Some(credits) = r.credits {
            paths.push("credits");
            key.credits = credits.map(Into::into);
        }
        pb::UpdateApiKeyRequest {
            api_key: Some(key),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.into_iter().map(String::from).collect(),
            }),
        }
    }
}

impl From<ListApiKeysRequest> for pb::ListApiKeysRequest {
    fn from(r: ListApiKeysRequest) -> Self {
        pb::ListApiKeysRequest {
            org_id: r.org_id,
            page_size: r.page_size,
            page_token: r.page_token,
            include_revoked: r.include_revoked,
        }
    }
}

impl From<pb::KeyState> for KeyState {
    fn from(s: pb::KeyState) -> Self {
        match s {
            pb::KeyState::Active => KeyState::Active,
            pb::KeyState::Disabled => KeyState::Disabled,
            pb::KeyState::Revoked => KeyState::Revoked,
            pb::KeyState::Expired => KeyState::Expired,
            pb::KeyState::Unspecified => KeyState::Unspecified,
        }
    }
}

impl From<pb::ApiKey> for ApiKey {
    fn from(k: pb::ApiKey) -> Self {
        let state = k.state().into();
        ApiKey {
            id: k.id,
            org_id: k.org_id,
            name: k.name,
            scopes: k.scopes,
            rate_limit: k.rate_limit.map(Into::into),
            expires_at: time_from(k.expires_at),
            metadata: k.metadata,
            enabled: k.enabled,
            state,
            display_hint: k.display_hint,
            created_at: time_from(k.created_at),
            updated_at: time_from(k.updated_at),
            revoked_at: time_from(k.revoked_at),
            rotated_at: time_from(k.rotated_at),
            allowed_cidrs: k.allowed_cidrs,
            credits: k.credits.map(Into::into),
        }
    }
}

pub(crate) fn issued(
    api_key: Option<pb::ApiKey>,
    secret: String,
    unconfirmed_replicas: u32,
) -> Result<IssuedApiKey, Error> {
    let api_key = ApiKey::from(required(api_key, "api_key")?);
    Ok(IssuedApiKey {
        id: api_key.id.clone(),
        secret,
        api_key,
        unconfirmed_replicas,
    })
}

impl From<i32> for Outcome {
    fn from(value: i32) -> Self {
        match pb::Outcome::try_from(value) {
            Ok(pb::Outcome::Valid) => Outcome::Valid,
            Ok(pb::Outcome::NotFound) => Outcome::NotFound,
            Ok(pb::Outcome::Malformed) => Outcome::Malformed,
            Ok(pb::Outcome::Expired) => Outcome::Expired,
            Ok(pb::Outcome::Revoked) => Outcome::Revoked,
            Ok(pb::Outcome::Disabled) => Outcome::Disabled,
            Ok(pb::Outcome::RateLimited) => Outcome::RateLimited,
            Ok(pb::Outcome::InsufficientScope) => Outcome::InsufficientScope,
            Ok(pb::Outcome::IpNotAllowed) => Outcome::IpNotAllowed,
            Ok(pb::Outcome::UsageExceeded) => Outcome::UsageExceeded,
            Ok(pb::Outcome::Unspecified) | Err(_) => Outcome::Unknown(value),
        }
    }
}

impl From<pb::RateLimitState> for RateLimitState {
    fn from(r: pb::RateLimitState) -> Self {
        RateLimitState {
            limit: r.limit,
            remaining: r.remaining,
            reset_at: time_from(r.reset_at),
            retry_after: Duration::from_millis(r.retry_after_ms.into()),
        }
    }
}

impl From<pb::ValidateApiKeyResponse> for Validation {
    fn from(r: pb::ValidateApiKeyResponse) -> Self {
        let rate_limit: Option<RateLimitState> = r.rate_limit.map(Into::into);
        let credits: Option<CreditsState> = r.credits.map(Into::into);
        let organization = r.organization.map(Into::into);
        let key = r.key.map(|k| KeyInfo {
            id: k.id,
            org_id: k.org_id,
            name: k.name,
            scopes: k.scopes,
            metadata: k.metadata,
            expires_at: time_from(k.expires_at),
            rate_limit,
            credits,
            organization,
        });
        Validation {
            valid: r.valid,
            outcome: r.outcome.into(),
            key,
            rate_limit,
            missing_scopes: r.missing_scopes,
            credits,
            organization,
            refused_by: policy_level(r.refused_by),
        }
    }
}

impl Validation {
    /// The key's info when it was accepted; otherwise `Error::RateLimited` or `Error::InvalidKey`.
    pub fn into_result(self) -> Result<KeyInfo, Error> {
        match (self.valid, self.outcome, self.key) {
            (true, Outcome::Valid, Some(key)) => Ok(key),
            (_, Outcome::RateLimited, key) => {
                let refused_by = self.refused_by.unwrap_or_default();
                let window = match refused_by {
                    PolicyLevel::Organization => self.organization.and_then(|o| o.rate_limit),
                    PolicyLevel::Key => self.rate_limit,
                };
                let state = window.unwrap_or(RateLimitState {
                    limit: 0,
                    remaining: 0,
                    reset_at: None,
                    retry_after: Duration::ZERO,
                });
                Err(Error::RateLimited {
                    retry_after: state.retry_after,
                    limit: state.limit,
                    reset_at: state.reset_at,
                    key: key.map(Box::new),
                    refused_by,
                })
            }
            (_, Outcome::UsageExceeded, key) => {
                let refused_by = self.refused_by.unwrap_or_default();
                let balance = match refused_by {
                    PolicyLevel::Organization => self.organization.and_then(|o| o.credits),
                    PolicyLevel::Key => self.credits,
                };
                Err(Error::UsageExceeded {
                    refused_by,
                    remaining: balance.map_or(0, |b| b.remaining),
                    next_refill_at: balance.and_then(|b| b.next_refill_at),
                    key: key.map(Box::new),
                })
            }
            (_, outcome, key) => Err(Error::InvalidKey {
                outcome,
                key: key.map(Box::new),
                missing_scopes: self.missing_scopes,
            }),
        }
    }
}

impl From<pb::GetApiKeyUsageResponse> for Usage {
    fn from(u: pb::GetApiKeyUsageResponse) -> Self {
        Usage {
            id: u.id,
            period_start: time_from(u.period_start),
            requests_current_period: u.requests_current_period,
            errors_current_period: u.errors_current_period,
            error_rate: u.error_rate,
            last_used_at: time_from(u.last_used_at),
            outcomes: u
                .outcomes
                .into_iter()
                .map(|o| (o.outcome.into(), o.count))
                .collect(),
            series: u.series.into_iter().map(Into::into).collect(),
            unused_scopes: u.unused_scopes,
            scope_uses: u
                .scope_uses
                .into_iter()
                .map(|s| ScopeUse {
                    scope: s.scope,
                    last_required_at: time_from(s.last_required_at),
                })
                .collect(),
        }
    }
}

impl From<pb::UsageBucket> for UsageBucket {
    fn from(b: pb::UsageBucket) -> Self {
        UsageBucket {
            start_time: time_from(b.start_time),
            requests: b.requests,
            valid: b.valid,
            rate_limited: b.rate_limited,
            other_errors: b.other_errors,
            usage_exceeded: b.usage_exceeded,
        }
    }
}

impl From<OrganizationUsageRequest> for pb::GetOrganizationUsageRequest {
    fn from(r: OrganizationUsageRequest) -> Self {
        let granularity = match r.granularity {
            Granularity::Day => pb::Granularity::Day,
            Granularity::Hour => pb::Granularity::Hour,
        };
        pb::GetOrganizationUsageRequest {
            org_id: r.org_id,
            granularity: granularity.into(),
            series_start: time_to(r.series_start),
            top_keys: r.top_keys,
        }
    }
}

impl From<pb::KeyUsageSummary> for KeyUsageSummary {
    fn from(k: pb::KeyUsageSummary) -> Self {
        KeyUsageSummary {
            key_id: k.key_id,
            name: k.name,
            requests: k.requests,
            errors: k.errors,
            error_rate: k.error_rate,
        }
    }
}

impl From<pb::GetOrganizationUsageResponse> for OrganizationUsage {
    fn from(u: pb::GetOrganizationUsageResponse) -> Self {
        OrganizationUsage {
            org_id: u.org_id,
            requests: u.requests,
            errors: u.errors,
            error_rate: u.error_rate,
            outcomes: u
                .outcomes
                .into_iter()
                .map(|o| (o.outcome.into(), o.count))
                .collect(),
            series: u.series.into_iter().map(Into::into).collect(),
            top_keys_by_requests: u.top_keys_by_requests.into_iter().map(Into::into).collect(),
            top_keys_by_error_rate: u
                .top_keys_by_error_rate
                .into_iter()
                .map(Into::into)
                .collect(),
        }
    }
}

impl From<pb::Scope> for Scope {
    fn from(s: pb::Scope) -> Self {
        Scope {
            name: s.name,
            description: s.description,
            created_at: time_from(s.created_at),
        }
    }
}
