//! The local decision about one key the table holds, in the server's order (validation-service.ts):
//! REVOKED → EXPIRED → DISABLED → IP_NOT_ALLOWED → INSUFFICIENT_SCOPE → RATE_LIMITED →
//! USAGE_EXCEEDED → VALID. Rate limits and credits are spent from leases only; a refusal spends
//! nothing. Pure apart from the entry's lease lock, so it is tested without a server.
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use super::table::{CreditLease, Entry, Lease, RateLease};
use crate::credits::{CreditsState, PolicyLevel};
use crate::proto::v1 as pb;
use crate::types::{KeyInfo, Outcome, RateLimitState, Validation};

/// One validation's request, borrowed.
pub(crate) struct Ask<'a, S> {
    pub(crate) scopes: &'a [S],
    pub(crate) cost: u32,
    pub(crate) ip: Option<IpAddr>,
}

/// What to do next (the answer unboxed: it is the common case).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Step {
    /// The answer, decided locally.
    Answer(Validation),
    /// Ask ValidateApiKey.
    Network,
    /// Lease these first (rate-limit points, credits), then decide again.
    Lease { points: u32, credits: u64 },
    /// The answer, and a lease running low: ask these ahead, in the background.
    AnswerAndLease(Validation, u32, u64),
}

/// The clock a decision reads: wall time for expiry and windows, monotonic time for leases.
#[derive(Clone, Copy)]
pub(crate) struct Now {
    pub(crate) wall: SystemTime,
    pub(crate) mono: Instant,
}

/// Points asked per lease: a twentieth of the window's limit, 1 to 10,000 (as the TS SDK).
pub(crate) fn rate_chunk(limit: u32) -> u32 {
    (limit / 20).clamp(1, 10_000)
}

/// Credits asked per lease beyond what the call lacks: a twentieth of the refill, 1 to 1,000
/// (100 without a refill).
fn credit_chunk(credits: &pb::Credits) -> u64 {
    credits
        .refill
        .as_ref()
        .map_or(100, |r| (r.amount / 20).clamp(1, 1000))
}

fn answer(outcome: Outcome, info: Option<KeyInfo>) -> Validation {
    Validation {
        valid: outcome == Outcome::Valid,
        outcome,
        key: info,
        rate_limit: None,
        missing_scopes: Vec::new(),
        credits: None,
        organization: None,
        refused_by: None,
    }
}

pub(crate) fn decide<S: AsRef<str>>(
    entry: &Entry,
    ask: &Ask<'_, S>,
    now: Now,
    may_lease: bool,
) -> Step {
    let refused = |o: Outcome| Step::Answer(answer(o, Some(entry.info.clone())));
    match entry.state {
        pb::KeyState::Revoked => return refused(Outcome::Revoked),
        pb::KeyState::Active | pb::KeyState::Disabled => {}
        _ => return Step::Network,
    }
    if entry.info.expires_at.is_some_and(|t| t <= now.wall) {
        return refused(Outcome::Expired);
    }
    if entry.state == pb::KeyState::Disabled {
        return refused(Outcome::Disabled);
    }
    if let Some(cidrs) = &entry.cidrs {
        if !ask
            .ip
            .is_some_and(|ip| cidrs.iter().any(|n| n.contains(ip)))
        {
            return refused(Outcome::IpNotAllowed);
        }
    }
    let missing: Vec<String> = ask
        .scopes
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| !entry.info.has_scope(s))
        .map(str::to_string)
        .collect();
    if !missing.is_empty() {
        let mut v = answer(Outcome::InsufficientScope, Some(entry.info.clone()));
        v.missing_scopes = missing;
        return Step::Answer(v);
    }
    if entry.rate_limit.is_none() && entry.credits.is_none() {
        return Step::Answer(answer(Outcome::Valid, Some(entry.info.clone())));
    }
    let mut lease = entry.lease.lock().expect("lease lock");
    meter(entry, &mut lease, ask.cost, now, may_lease)
}

fn rate_usable(r: &RateLease, now: Now) -> bool {
    now.mono < r.expires && now.wall < r.reset_at
}

fn credits_usable(c: &CreditLease, now: Now) -> bool {
    now.mono < c.expires && c.next_refill_at.is_none_or(|t| now.wall < t)
}

fn meter(entry: &Entry, lease: &mut Lease, cost: u32, now: Now, may_lease: bool) -> Step {
    if lease.retired {
        return Step::Network;
    }
    let cost = u64::from(cost);
    // What is missing: no usable lease, or an empty one while the window or balance has more.
    let rate = entry
        .rate_limit
        .map(|l| lease.rate.filter(|r| rate_usable(r, now)).ok_or(l));
    let need_points = match rate {
        Some(Err(limit)) => rate_chunk(limit.requests),
        Some(Ok(r)) if r.left == 0 && r.unleased > 0 => rate_chunk(r.limit),
        _ => 0,
    };
    let credits = entry
        .credits
        .as_ref()
        .map(|c| lease.credits.filter(|l| credits_usable(l, now)).ok_or(c));
    let need_credits = match credits {
        Some(Err(c)) => cost.max(credit_chunk(c)),
        Some(Ok(l)) if l.left < cost && l.unleased > 0 => {
            cost - l.left + credit_chunk(entry.credits.as_ref().expect("metered"))
        }
        _ => 0,
    };
    if need_points > 0 || need_credits > 0 {
        if may_lease {
            return Step::Lease {
                points: need_points,
                credits: need_credits,
            };
        }
        // Leased just now and still no usable lease (the server granted none): its answer counts.
        if matches!(rate, Some(Err(_))) || matches!(credits, Some(Err(_))) {
            return Step::Network;
        }
    }
    let mut v = answer(Outcome::Valid, Some(entry.info.clone()));
    if let Some(Ok(r)) = rate {
        if r.left == 0 {
            let wait = r.reset_at.duration_since(now.wall).unwrap_or_default();
            v.rate_limit = Some(RateLimitState {
                limit: r.limit,
                remaining: 0,
                reset_at: Some(r.reset_at),
                retry_after: wait.max(Duration::from_millis(1)),
            });
            return Step::Answer(refuse(v, Outcome::RateLimited));
        }
        v.rate_limit = Some(RateLimitState {
            limit: r.limit,
            remaining: (r.left - 1).saturating_add(r.unleased),
            reset_at: Some(r.reset_at),
            retry_after: Duration::ZERO,
        });
    }
    if let Some(Ok(c)) = credits {
        if c.left < cost {
            v.credits = Some(CreditsState {
                remaining: c.left.saturating_add(c.unleased),
                next_refill_at: c.next_refill_at,
            });
            return Step::Answer(refuse(v, Outcome::UsageExceeded));
        }
        let slot = lease.credits.as_mut().expect("usable lease");
        slot.left -= cost;
        v.credits = Some(CreditsState {
            remaining: slot.left.saturating_add(c.unleased),
            next_refill_at: c.next_refill_at,
        });
    }
    // Both policies admit the call: only now is the point spent.
    if let Some(slot) = lease.rate.as_mut().filter(|_| matches!(rate, Some(Ok(_)))) {
        slot.left -= 1;
    }
    if let Some(info) = v.key.as_mut() {
        info.rate_limit = v.rate_limit;
        info.credits = v.credits;
    }
    // Less than half a chunk left while the window or balance has more: lease ahead, so that the
    // next calls do not wait for LeaseLimits. Not for small limits (a chunk of 1): holding a second
    // chunk there would be a large share of the window, kept from the other validators.
    let low_points = lease.rate.filter(|r| {
        let chunk = rate_chunk(r.limit);
        chunk > 1 && r.unleased > 0 && r.left < chunk.div_ceil(2)
    });
    let credit_chunk = entry.credits.as_ref().map_or(0, credit_chunk);
    let low_credits = lease.credits.filter(|c| {
        credit_chunk > 1 && c.unleased > 0 && c.left < credit_chunk.div_ceil(2).max(cost)
    });
    if (low_points.is_some() || low_credits.is_some()) && !lease.prefetching {
        lease.prefetching = true;
        let points = low_points.map_or(0, |r| rate_chunk(r.limit));
        return Step::AnswerAndLease(v, points, low_credits.map_or(0, |_| credit_chunk.max(cost)));
    }
    Step::Answer(v)
}

fn refuse(mut v: Validation, outcome: Outcome) -> Validation {
    v.valid = false;
    v.outcome = outcome;
    v.refused_by = Some(PolicyLevel::Key);
    if let Some(info) = v.key.as_mut() {
        info.rate_limit = v.rate_limit;
        info.credits = v.credits;
    }
    v
}

/// Adds a LeaseLimits answer to an entry's lease; returns what an older, replaced lease still
/// held (to give back). `started`: the monotonic instant the LeaseLimits call started.
pub(crate) fn merge(
    lease: &mut Lease,
    got: pb::LeaseLimitsResponse,
    started: Instant,
    now: Now,
) -> (u32, u64) {
    let mut back = (0, 0);
    if let Some(r) = got.rate_limit {
        let reset_at = crate::convert::time_from(r.reset_at).unwrap_or(now.wall);
        let fresh = RateLease {
            left: r.granted,
            limit: r.limit,
            unleased: r.unleased,
            reset_at,
            expires: started + Duration::from_millis(r.expires_in_ms.into()),
        };
        lease.rate = Some(match lease.rate {
            Some(old) if rate_usable(&old, now) && old.reset_at == reset_at => RateLease {
                left: old.left.saturating_add(r.granted),
                expires: old.expires.min(fresh.expires),
                ..fresh
            },
            Some(old) => {
                back.0 = old.left;
                fresh
            }
            None => fresh,
        });
    }
    if let Some(c) = got.credits {
        let next_refill_at = crate::convert::time_from(c.next_refill_at);
        let fresh = CreditLease {
            left: c.granted,
            unleased: c.unleased,
            next_refill_at,
            expires: started + Duration::from_millis(c.expires_in_ms.into()),
        };
        lease.credits = Some(match lease.credits {
            Some(old) if credits_usable(&old, now) && old.next_refill_at == next_refill_at => {
                CreditLease {
                    left: old.left.saturating_add(c.granted),
                    expires: old.expires.min(fresh.expires),
                    ..fresh
                }
            }
            Some(old) => {
                back.1 = old.left;
                fresh
            }
            None => fresh,
        });
    }
    back
}
