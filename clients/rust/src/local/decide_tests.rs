//! The local decision without a server: the server's order, and spending from leases.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::cidr::Network;
use super::decide::{decide, merge, Ask, Now, Step};
use super::table::{Entry, Lease};
use crate::proto::v1 as pb;
use crate::types::{KeyInfo, Outcome, Validation};

fn entry(state: pb::KeyState) -> Entry {
    Entry {
        info: KeyInfo {
            id: "key_1".into(),
            org_id: "org_1".into(),
            name: "k".into(),
            scopes: vec!["a".into(), "b".into()],
            metadata: Default::default(),
            expires_at: None,
            rate_limit: None,
            credits: None,
            organization: None,
        },
        state,
        rate_limit: None,
        credits: None,
        cidrs: None,
        counters: Arc::default(),
        lease: Mutex::default(),
    }
}

fn now() -> Now {
    Now {
        wall: SystemTime::now(),
        mono: Instant::now(),
    }
}

fn ask<'a>(scopes: &'a [&'a str], cost: u32, ip: Option<&str>) -> Ask<'a, &'a str> {
    Ask {
        scopes,
        cost,
        ip: ip.map(|i| i.parse().unwrap()),
    }
}

fn answer(step: Step) -> Validation {
    match step {
        Step::Answer(v) | Step::AnswerAndLease(v, ..) => v,
        other => panic!("expected an answer, got {other:?}"),
    }
}

#[test]
fn refuses_in_the_servers_order() {
    let revoked = entry(pb::KeyState::Revoked);
    assert_eq!(
        answer(decide(&revoked, &ask(&["zzz"], 1, None), now(), true)).outcome,
        Outcome::Revoked
    );
    let mut expired_and_disabled = entry(pb::KeyState::Disabled);
    expired_and_disabled.info.expires_at = Some(SystemTime::now() - Duration::from_secs(1));
    let v = answer(decide(
        &expired_and_disabled,
        &ask(&[], 1, None),
        now(),
        true,
    ));
    assert_eq!(
        v.outcome,
        Outcome::Expired,
        "keyState: EXPIRED before DISABLED"
    );
    assert_eq!(v.key.as_ref().map(|k| k.id.as_str()), Some("key_1"));
    let disabled = entry(pb::KeyState::Disabled);
    assert_eq!(
        answer(decide(&disabled, &ask(&[], 1, None), now(), true)).outcome,
        Outcome::Disabled
    );
    let mut fenced = entry(pb::KeyState::Active);
    fenced.cidrs = Some(vec![Network::parse("10.0.0.0/8").unwrap()]);
    assert_eq!(
        answer(decide(&fenced, &ask(&["zzz"], 1, None), now(), true)).outcome,
        Outcome::IpNotAllowed
    );
    assert_eq!(
        answer(decide(&fenced, &ask(&[], 1, Some("11.0.0.1")), now(), true)).outcome,
        Outcome::IpNotAllowed
    );
    assert!(
        answer(decide(
            &fenced,
            &ask(&[], 1, Some("::ffff:10.1.2.3")),
            now(),
            true
        ))
        .valid
    );
    let active = entry(pb::KeyState::Active);
    let v = answer(decide(
        &active,
        &ask(&["z", "a", "y"], 1, None),
        now(),
        true,
    ));
    assert_eq!(
        (v.outcome, v.missing_scopes),
        (
            Outcome::InsufficientScope,
            vec!["z".to_string(), "y".to_string()]
        )
    );
    let v = answer(decide(&active, &ask(&["a", "b"], 1, None), now(), true));
    assert!(v.valid && v.outcome == Outcome::Valid && v.rate_limit.is_none());
    assert!(matches!(
        decide(
            &entry(pb::KeyState::Unspecified),
            &ask(&[], 1, None),
            now(),
            true
        ),
        Step::Network
    ));
}

fn rate_lease(left: u32, unleased: u32) -> Lease {
    Lease {
        retired: false,
        prefetching: false,
        rate: Some(super::table::RateLease {
            left,
            limit: 100,
            unleased,
            reset_at: SystemTime::now() + Duration::from_secs(60),
            expires: Instant::now() + Duration::from_secs(60),
        }),
        credits: None,
    }
}

#[test]
fn spends_rate_limit_points_from_the_lease_only() {
    let mut limited = entry(pb::KeyState::Active);
    limited.rate_limit = Some(pb::RateLimit {
        requests: 100,
        window_seconds: 60,
    });
    assert!(matches!(
        decide(&limited, &ask(&[], 1, None), now(), true),
        Step::Lease {
            points: 5,
            credits: 0
        }
    ));
    assert!(
        matches!(
            decide(&limited, &ask(&[], 1, None), now(), false),
            Step::Network
        ),
        "no lease granted"
    );
    *limited.lease.lock().unwrap() = rate_lease(2, 10);
    let v = answer(decide(&limited, &ask(&[], 1, None), now(), true));
    assert_eq!(
        v.rate_limit.map(|r| (r.limit, r.remaining)),
        Some((100, 11))
    );
    assert_eq!(v.key.unwrap().rate_limit, v.rate_limit);
    *limited.lease.lock().unwrap() = rate_lease(3, 10);
    let ahead = decide(&limited, &ask(&[], 1, None), now(), true);
    assert!(
        matches!(ahead, Step::AnswerAndLease(ref v, 5, 0) if v.valid),
        "2 left of a chunk of 5: lease ahead"
    );
    assert!(
        matches!(
            decide(&limited, &ask(&[], 1, None), now(), true),
            Step::Answer(_)
        ),
        "once at a time"
    );
    *limited.lease.lock().unwrap() = rate_lease(0, 0);
    let v = answer(decide(&limited, &ask(&[], 1, None), now(), true));
    assert_eq!(v.outcome, Outcome::RateLimited);
    let state = v.rate_limit.unwrap();
    assert!(state.remaining == 0 && state.retry_after >= Duration::from_millis(1));
    *limited.lease.lock().unwrap() = rate_lease(0, 7);
    assert!(matches!(
        decide(&limited, &ask(&[], 1, None), now(), true),
        Step::Lease { points: 5, .. }
    ));
    limited.lease.lock().unwrap().retire();
    assert!(
        matches!(
            decide(&limited, &ask(&[], 1, None), now(), true),
            Step::Network
        ),
        "a replaced entry leases nothing"
    );
}

#[test]
fn spends_credits_all_or_nothing_and_gives_the_point_back_on_refusal() {
    let mut metered = entry(pb::KeyState::Active);
    metered.rate_limit = Some(pb::RateLimit {
        requests: 100,
        window_seconds: 60,
    });
    metered.credits = Some(pb::Credits {
        remaining: 0,
        refill: None,
    });
    *metered.lease.lock().unwrap() = rate_lease(3, 0);
    assert!(matches!(
        decide(&metered, &ask(&[], 5, None), now(), true),
        Step::Lease {
            points: 0,
            credits: 100
        }
    ));
    let started = Instant::now();
    let got = pb::LeaseLimitsResponse {
        rate_limit: None,
        credits: Some(pb::CreditsLease {
            granted: 7,
            unleased: 0,
            next_refill_at: None,
            expires_in_ms: 60_000,
        }),
    };
    assert_eq!(
        merge(&mut metered.lease.lock().unwrap(), got, started, now()),
        (0, 0)
    );
    let v = answer(decide(&metered, &ask(&[], 5, None), now(), false));
    assert!(v.valid);
    assert_eq!(v.credits.map(|c| c.remaining), Some(2));
    let v = answer(decide(&metered, &ask(&[], 5, None), now(), false));
    assert_eq!(
        (v.outcome, v.credits.map(|c| c.remaining)),
        (Outcome::UsageExceeded, Some(2))
    );
    let v = answer(decide(&metered, &ask(&[], 0, None), now(), false));
    assert!(
        v.valid && v.credits.map(|c| c.remaining) == Some(2),
        "cost 0 reads"
    );
    let lease = metered.lease.lock().unwrap();
    assert_eq!(
        lease.rate.map(|r| r.left),
        Some(1),
        "the refused call's point was not spent"
    );
}

#[test]
fn leases_that_expired_unused_are_taken_back_for_the_next_report() {
    let mut lease = rate_lease(7, 0);
    assert_eq!(lease.take_expired(now()), (0, 0), "still usable");
    let later = Now {
        wall: SystemTime::now(),
        mono: Instant::now() + Duration::from_secs(61),
    };
    assert_eq!(lease.take_expired(later), (7, 0));
    assert!(lease.rate.is_none() && !lease.retired);
}
