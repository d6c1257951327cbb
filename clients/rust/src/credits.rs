//! Credits and organisation-wide limits: a key's (or an organisation's) credit balance with an
//! optional refill, what a validation reports about it, and the organisation's shared policy.
use std::time::{Duration, SystemTime};

use crate::convert::time_from;
use crate::proto::v1 as pb;
use crate::types::{RateLimit, RateLimitState};

/// When a balance refills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefillSchedule {
    /// Every this long after the credits were set (whole seconds, 60 s to 365 days).
    Every(Duration),
    /// On this day of each month (1–31) at 00:00 UTC; the month's last day when it is shorter.
    DayOfMonth(u32),
}

/// Sets the balance back to `amount` (1 to 10^15) on `schedule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditRefill {
    pub amount: u64,
    pub schedule: RefillSchedule,
    /// Output only: when the balance was last refilled (or set).
    pub last_refill_at: Option<SystemTime>,
}

impl CreditRefill {
    /// Back to `amount` every `interval`.
    pub fn every(amount: u64, interval: Duration) -> Self {
        CreditRefill {
            amount,
            schedule: RefillSchedule::Every(interval),
            last_refill_at: None,
        }
    }

    /// Back to `amount` on `day` (1–31) of each month, 00:00 UTC.
    pub fn monthly(amount: u64, day: u32) -> Self {
        CreditRefill {
            amount,
            schedule: RefillSchedule::DayOfMonth(day),
            last_refill_at: None,
        }
    }
}

/// A credit balance (0 to 10^15) that validations spend (`cost`, default 1), with an optional
/// refill. On keys and policies read back, `remaining` is the balance now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Credits {
    pub remaining: u64,
    pub refill: Option<CreditRefill>,
}

/// A balance after a validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditsState {
    pub remaining: u64,
    /// `None` without refill.
    pub next_refill_at: Option<SystemTime>,
}

/// Whose policy refused a validation (`RateLimited`, `UsageExceeded`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PolicyLevel {
    /// The key's own limit or balance.
    #[default]
    Key,
    /// The organisation's shared limit or balance.
    Organization,
}

/// The organisation's shared window and balance after a validation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrganizationState {
    pub rate_limit: Option<RateLimitState>,
    pub credits: Option<CreditsState>,
}

/// Limits all of an organisation's keys share, on top of each key's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationPolicy {
    pub org_id: String,
    pub rate_limit: Option<RateLimit>,
    /// The shared balance as it is now.
    pub credits: Option<Credits>,
    /// `None` if never set.
    pub updated_at: Option<SystemTime>,
}

/// What `organizations().update_policy` changes: only the fields set to `Some`; `Some(None)`
/// clears one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateOrganizationPolicyRequest {
    pub org_id: String,
    pub rate_limit: Option<Option<RateLimit>>,
    pub credits: Option<Option<Credits>>,
}

/// A validation with every option: required scopes, the end client's address, and the credits
/// the call spends (`None`: 1; `Some(0)` reads the balance without spending).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidateRequest {
    pub key: String,
    pub required_scopes: Vec<String>,
    pub client_ip: String,
    pub cost: Option<u32>,
}

impl From<Credits> for pb::Credits {
    fn from(c: Credits) -> Self {
        pb::Credits {
            remaining: c.remaining,
            refill: c.refill.map(|r| pb::CreditRefill {
                amount: r.amount,
                schedule: Some(match r.schedule {
                    RefillSchedule::Every(d) => pb::credit_refill::Schedule::IntervalSeconds(
                        u32::try_from(d.as_secs()).unwrap_or(u32::MAX),
                    ),
                    RefillSchedule::DayOfMonth(day) => pb::credit_refill::Schedule::DayOfMonth(day),
                }),
                last_refill_at: None,
            }),
        }
    }
}

impl From<pb::Credits> for Credits {
    fn from(c: pb::Credits) -> Self {
        Credits {
            remaining: c.remaining,
            refill: c.refill.map(|r| CreditRefill {
                amount: r.amount,
                schedule: match r.schedule {
                    Some(pb::credit_refill::Schedule::IntervalSeconds(s)) => {
                        RefillSchedule::Every(Duration::from_secs(s.into()))
                    }
                    Some(pb::credit_refill::Schedule::DayOfMonth(d)) => {
                        RefillSchedule::DayOfMonth(d)
                    }
                    None => RefillSchedule::DayOfMonth(0),
                },
                last_refill_at: time_from(r.last_refill_at),
            }),
        }
    }
}

impl From<pb::CreditsState> for CreditsState {
    fn from(c: pb::CreditsState) -> Self {
        CreditsState {
            remaining: c.remaining,
            next_refill_at: time_from(c.next_refill_at),
        }
    }
}

impl From<pb::OrganizationState> for OrganizationState {
    fn from(o: pb::OrganizationState) -> Self {
        OrganizationState {
            rate_limit: o.rate_limit.map(Into::into),
            credits: o.credits.map(Into::into),
        }
    }
}

impl From<pb::OrganizationPolicy> for OrganizationPolicy {
    fn from(p: pb::OrganizationPolicy) -> Self {
        OrganizationPolicy {
            org_id: p.org_id,
            rate_limit: p.rate_limit.map(Into::into),
            credits: p.credits.map(Into::into),
            updated_at: time_from(p.updated_at),
        }
    }
}

impl From<UpdateOrganizationPolicyRequest> for pb::UpdateOrganizationPolicyRequest {
    fn from(r: UpdateOrganizationPolicyRequest) -> Self {
        let mut paths = Vec::new();
        let mut policy = pb::OrganizationPolicy {
            org_id: r.org_id,
            ..Default::default()
        };
        if let Some(rate_limit) = r.rate_limit {
            paths.push("rate_limit".to_string());
            policy.rate_limit = rate_limit.map(Into::into);
        }
        if let Some(credits) = r.credits {
            paths.push("credits".to_string());
            policy.credits = credits.map(Into::into);
        }
        pb::UpdateOrganizationPolicyRequest {
            policy: Some(policy),
            update_mask: Some(prost_types::FieldMask { paths }),
        }
    }
}

impl From<ValidateRequest> for pb::ValidateApiKeyRequest {
    fn from(r: ValidateRequest) -> Self {
        pb::ValidateApiKeyRequest {
            key: r.key,
            required_scopes: r.required_scopes,
            client_ip: r.client_ip,
            cost: r.cost,
        }
    }
}

/// `refused_by` of an answer; `None` when no policy refused.
pub(crate) fn policy_level(value: i32) -> Option<PolicyLevel> {
    match pb::PolicyLevel::try_from(value) {
        Ok(pb::PolicyLevel::Key) => Some(PolicyLevel::Key),
        Ok(pb::PolicyLevel::Organization) => Some(PolicyLevel::Organization),
        _ => None,
    }
}
